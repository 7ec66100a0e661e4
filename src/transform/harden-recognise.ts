// Recognises hardening in a module's code: which guard passes it carries and
// how completely, without trusting any marker a publisher could forge. A pass
// counts as present only when every site it must guard is preceded by its
// check, as harden.ts emits it: the operands parked in locals, one range check
// per guarded range trapping in place with the tag of its kind, the operands
// pushed back, then the site (or, for a load, an earlier check that proved its
// address: NullProofs). The sequences contain no label a branch could target
// (their `if` arms end in `unreachable`), so no branch can enter between a
// check and its site.

import { decodeInstructions } from '../binary/instructions.js';
import type { Instruction, WasmModule } from '../binary/types.js';
import { accessOf, bulkDestinationMemory, guardTrapOffsets, isBulkWrite, kindOfTag, NullProofs, type GuardKind } from './harden-guards.js';
import { findStackPointer } from './harden-layout.js';

export interface Coverage {
  sites: number;
  guarded: number;
  /** Every site guarded. */
  verified: boolean;
  detail: string;
}

export interface Hardening {
  passes: { stack: Coverage | null; null: Coverage | null; rodata: Coverage | null; bulk: Coverage | null };
}

interface Check { local: number; lo: number; span: number; kind: GuardKind }

const is = (i: Instruction | undefined, code: number, prefix = 0): i is Instruction => !!i && i.prefix === prefix && i.code === code;

/** The trap arm ending at a[j]: if (empty) i32.const TAG; drop; unreachable; end. Its kind, or null. */
function trapEndingAt(a: Instruction[], j: number): GuardKind | null {
  if (j < 4) return null;
  const [iff, tag, drop, trap, end] = a.slice(j - 4, j + 1);
  if (!is(iff, 0x04) || iff.blockType?.kind !== 'empty' || !is(tag, 0x41) || !is(drop, 0x1a) || !is(trap, 0x00) || !is(end, 0x0b)) return null;
  return kindOfTag(tag.value >>> 0);
}

/** The ten-instruction range check ending at a[j] (its `end`), or null. */
function rangeCheckEndingAt(a: Instruction[], j: number): Check | null {
  if (j < 9) return null;
  const kind = trapEndingAt(a, j);
  if (!kind) return null;
  const [get, lo, sub, span, lt] = a.slice(j - 9, j - 4);
  if (!is(get, 0x20) || !is(lo, 0x41) || !is(sub, 0x6b) || !is(span, 0x41) || !is(lt, 0x49)) return null;
  return { local: get.index, lo: lo.value >>> 0, span: span.value >>> 0, kind };
}

/** The twenty-instruction bulk check ending at a[j], or null. */
function bulkCheckEndingAt(a: Instruction[], j: number): GuardKind | null {
  if (j < 19) return null;
  const kind = trapEndingAt(a, j);
  if (!kind) return null;
  const codes = [0x20, 0xad, 0x20, 0xad, 0x7c, 0x42, 0x56, 0x20, 0x41, 0x49, 0x71, 0x20, 0x41, 0x47, 0x71];
  return a.slice(j - 19, j - 4).every((ins, k) => ins.prefix === 0 && ins.code === codes[k]) ? kind : null;
}

/**
 * The checks in front of the site at a[t]: `parked` operands (1 for loads and
 * stack-pointer writes, 2 for stores, 3 for bulk writes) are set into locals,
 * checked, and got back just before the site. Wrappers may nest (a pass added
 * to an already hardened module wraps the site again), so the walk repeats.
 * `start` is the index of the wrapper's first instruction (t when none).
 */
function checksBefore(a: Instruction[], t: number, parked: number): { ranges: Check[]; bulk: GuardKind[]; start: number } {
  const ranges: Check[] = [];
  const bulk: GuardKind[] = [];
  let start = t;
  let j = t - 1;
  for (;;) {
    const gets: number[] = [];
    for (let k = 0; k < parked; k++, j--) {
      if (!is(a[j], 0x20)) return { ranges, bulk, start };
      gets.unshift(a[j]!.index);
    }
    const found: Check[] = [];
    const foundBulk: GuardKind[] = [];
    for (;;) {
      const range = parked === 3 ? null : rangeCheckEndingAt(a, j);
      if (range && range.local === gets[0]) { found.push(range); j -= 10; continue; }
      const b = parked === 3 ? bulkCheckEndingAt(a, j) : null;
      if (b && a[j - 19]!.index === gets[0] && a[j - 17]!.index === gets[2]) { foundBulk.push(b); j -= 20; continue; }
      break;
    }
    if (found.length + foundBulk.length === 0) return { ranges, bulk, start };
    // The sets, in reverse order of the gets.
    for (let k = 0; k < parked; k++, j--) {
      if (!is(a[j], 0x21) || a[j]!.index !== gets[k]) return { ranges, bulk, start };
    }
    ranges.push(...found);
    bulk.push(...foundBulk);
    start = j + 1;
  }
}

export function recogniseHardening(module: WasmModule): Hardening {
  const none: Hardening = { passes: { stack: null, null: null, rodata: null, bulk: null } };
  // No trap arm anywhere in the code: nothing to walk.
  const code = module.sections.find((x) => x.id === 10);
  if (!code || guardTrapOffsets(module.bytes, code.payloadStart, code.end).length === 0) return none;
  const sp = findStackPointer(module)?.global ?? -1;
  const stack = { sites: 0, guarded: 0, limit: Infinity };
  const nul = { sites: 0, guarded: 0, size: Infinity, unchecked: [] as number[] };
  const ro = { sites: 0, guarded: 0, end: 0, unchecked: [] as number[] };
  const bulk = { sites: 0, guarded: 0 };
  for (let f = 0; f < module.code.length; f++) {
    const a = decodeInstructions(module, f);
    // First: each site's checks, and which instructions belong to inserted wrappers.
    const inWrapper = new Uint8Array(a.length);
    const checksAt = new Map<number, ReturnType<typeof checksBefore>>();
    for (let t = 0; t < a.length; t++) {
      const i = a[t]!;
      const access = i.memArg && i.memArg.memory === 0 ? accessOf(i) : null;
      const parked = i.prefix === 0 && i.code === 0x24 && i.index === sp ? 1 : access ? (access.store ? 2 : 1) : isBulkWrite(i) && bulkDestinationMemory(i) === 0 ? 3 : 0;
      if (!parked) continue;
      const c = checksBefore(a, t, parked);
      checksAt.set(t, c);
      inWrapper.fill(1, c.start, t);
    }
    // Then the module's own instructions in order, with what loads' checks proved (NullProofs, as the emitter).
    const proofs = new NullProofs();
    for (let t = 0; t < a.length; t++) {
      if (inWrapper[t]) {
        // A wrapper's own branch-free arms are skipped, but a local it writes is forgotten:
        // a forged wrapper could park a value in the very local an earlier check proved.
        if (is(a[t], 0x21) || is(a[t], 0x22)) proofs.observe(a[t]!);
        continue;
      }
      const i = a[t]!;
      const c = checksAt.get(t);
      if (c && i.prefix === 0 && i.code === 0x24) {
        stack.sites++;
        const check = c.ranges.find((r) => r.kind === 'stack-guard' && r.lo === 0);
        if (check) { stack.guarded++; stack.limit = Math.min(stack.limit, check.span); }
      } else if (c && i.memArg) {
        const access = accessOf(i)!;
        const offset = i.memArg.offset;
        nul.sites++;
        const n = c.ranges.find((r) => r.kind === 'null-guard' && r.lo === 0);
        const before = a[c.start - 1];
        const local = before && !inWrapper[c.start - 1] && is(before, 0x20) ? before.index : null;
        if (n) {
          nul.guarded++;
          nul.size = Math.min(nul.size, n.span + offset);
          if (!access.store && local !== null) proofs.prove(local, offset);
        } else if (!access.store && local !== null && proofs.covers(local, offset)) {
          nul.guarded++;
        } else nul.unchecked.push(offset);
        if (access.store) {
          ro.sites++;
          const r = c.ranges.find((x) => x.kind === 'rodata-write');
          if (r) { ro.guarded++; ro.end = Math.max(ro.end, r.lo + r.span + offset); } else ro.unchecked.push(offset);
        }
      } else if (c) {
        bulk.sites++;
        if (c.bulk.length) bulk.guarded++;
      }
      proofs.observe(i);
    }
  }
  // An access whose constant offset already lies beyond the guarded range needs no check.
  for (const offset of nul.unchecked) if (offset >= nul.size) nul.guarded++;
  for (const offset of ro.unchecked) if (ro.guarded > 0 && offset >= ro.end) ro.guarded++;
  const coverage = (sites: number, guarded: number, detail: string): Coverage | null =>
    guarded === 0 ? null : { sites, guarded, verified: guarded === sites, detail };
  return {
    passes: {
      stack: coverage(stack.sites, stack.guarded, `stack pointer kept at or above ${stack.limit}`),
      null: coverage(nul.sites, nul.guarded, `loads and stores below ${nul.size} trap`),
      rodata: coverage(ro.sites, ro.guarded, `stores below ${ro.end} into the constant range trap`),
      bulk: coverage(bulk.sites, bulk.guarded, 'memory.fill/copy/init into guarded ranges trap'),
    },
  };
}
