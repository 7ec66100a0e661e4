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
import { findStackPointer, type Range } from './harden-layout.js';

export interface Coverage {
  sites: number;
  guarded: number;
  /** Every site guarded. */
  verified: boolean;
  detail: string;
  /**
   * The address ranges every guarded site is checked against: what the pass,
   * as found, actually protects (stack: [0, lowest stack pointer allowed);
   * null: [0, guard size); rodata: the constant range; bulk: one range per
   * trap kind). A check is only as good as its constants: a publisher's
   * check against [0, 1) guards every site and protects almost nothing.
   */
  protects: Range[];
}

/** Whether `coverage` is a verified pass whose checks protect every range of `wanted`. */
export function carries(coverage: Coverage | null, wanted: readonly Range[]): boolean {
  return !!coverage?.verified && wanted.every((w) => coverage.protects.some((p) => p.start <= w.start && p.end >= w.end));
}

export interface Hardening {
  passes: { stack: Coverage | null; null: Coverage | null; rodata: Coverage | null; bulk: Coverage | null };
}

interface Check { local: number; lo: number; span: number; kind: GuardKind }
interface BulkCheck { range: Range; kind: GuardKind }

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

/**
 * The twenty-instruction bulk check ending at a[j] of the write [D, D + N)
 * (D and N the locals `dest` and `count`), with the range it traps on, or null.
 */
function bulkCheckEndingAt(a: Instruction[], j: number, dest: number, count: number): BulkCheck | null {
  if (j < 19) return null;
  const kind = trapEndingAt(a, j);
  if (!kind) return null;
  const codes = [0x20, 0xad, 0x20, 0xad, 0x7c, 0x42, 0x56, 0x20, 0x41, 0x49, 0x71, 0x20, 0x41, 0x47, 0x71];
  const c = a.slice(j - 19, j - 4);
  if (!c.every((ins, k) => ins.prefix === 0 && ins.code === codes[k])) return null;
  // Every operand as emitted: a check on other locals, or against N != 5, would pass for one without being one.
  if (c[0]!.index !== dest || c[2]!.index !== count || c[7]!.index !== dest || c[11]!.index !== count || c[12]!.value !== 0) return null;
  const start = c[5]!.value64;
  if (start < 0n || start > 0xffffffffn) return null;
  return { range: { start: Number(start), end: c[8]!.value >>> 0 }, kind };
}

/**
 * The checks in front of the site at a[t]: `parked` operands (1 for loads and
 * stack-pointer writes, 2 for stores, 3 for bulk writes) are set into locals,
 * checked, and got back just before the site. Wrappers may nest (a pass added
 * to an already hardened module wraps the site again), so the walk repeats.
 * `start` is the index of the wrapper's first instruction (t when none).
 */
function checksBefore(a: Instruction[], t: number, parked: number): { ranges: Check[]; bulk: BulkCheck[]; start: number } {
  const ranges: Check[] = [];
  const bulk: BulkCheck[] = [];
  let start = t;
  let j = t - 1;
  for (;;) {
    const gets: number[] = [];
    for (let k = 0; k < parked; k++, j--) {
      if (!is(a[j], 0x20)) return { ranges, bulk, start };
      gets.unshift(a[j]!.index);
    }
    const found: Check[] = [];
    const foundBulk: BulkCheck[] = [];
    for (;;) {
      const range = parked === 3 ? null : rangeCheckEndingAt(a, j);
      if (range && range.local === gets[0]) { found.push(range); j -= 10; continue; }
      const b = parked === 3 ? bulkCheckEndingAt(a, j, gets[0]!, gets[2]!) : null;
      if (b) { foundBulk.push(b); j -= 20; continue; }
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
  // Each pass's protected range is the weakest over its sites: the largest start, the smallest end.
  const stack = { sites: 0, guarded: 0, limit: Infinity };
  const nul = { sites: 0, guarded: 0, size: Infinity, unchecked: [] as number[] };
  const ro = { sites: 0, guarded: 0, start: 0, end: Infinity, unchecked: [] as number[] };
  const bulk = { sites: 0, guarded: 0, byKind: new Map<GuardKind, Range & { sites: number }>() };
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
        const limit = widest(c.ranges.filter((r) => r.kind === 'stack-guard' && r.lo === 0).map((r) => ({ start: 0, end: r.span })));
        if (limit) { stack.guarded++; stack.limit = Math.min(stack.limit, limit.end); }
      } else if (c && i.memArg) {
        const access = accessOf(i)!;
        const offset = i.memArg.offset;
        nul.sites++;
        const n = widest(c.ranges.filter((r) => r.kind === 'null-guard' && r.lo === 0).map((r) => ({ start: 0, end: r.span })));
        const before = a[c.start - 1];
        const local = before && !inWrapper[c.start - 1] && is(before, 0x20) ? before.index : null;
        if (n) {
          nul.guarded++;
          nul.size = Math.min(nul.size, n.end + offset);
          if (!access.store && local !== null) proofs.prove(local, offset);
        } else if (!access.store && local !== null && proofs.covers(local, offset)) {
          nul.guarded++;
        } else nul.unchecked.push(offset);
        if (access.store) {
          ro.sites++;
          // A check of L against [lo, lo + span) stops the store's bytes [L + offset, + size) meeting
          // [lo + size - 1 + offset, lo + span + offset); from 0 when lo is 0 (the emitter's clamp).
          const r = widest(c.ranges.filter((x) => x.kind === 'rodata-write')
            .map((x) => ({ start: x.lo === 0 ? 0 : x.lo + access.size - 1 + offset, end: x.lo + x.span + offset })));
          if (r) {
            ro.guarded++;
            ro.start = Math.max(ro.start, r.start);
            ro.end = Math.min(ro.end, r.end);
          } else ro.unchecked.push(offset);
        }
      } else if (c) {
        bulk.sites++;
        if (c.bulk.length) bulk.guarded++;
        for (const kind of new Set(c.bulk.map((b) => b.kind))) {
          const r = widest(c.bulk.filter((b) => b.kind === kind).map((b) => b.range))!;
          const sofar = bulk.byKind.get(kind);
          bulk.byKind.set(kind, sofar
            ? { start: Math.max(sofar.start, r.start), end: Math.min(sofar.end, r.end), sites: sofar.sites + 1 }
            : { ...r, sites: 1 });
        }
      }
      proofs.observe(i);
    }
  }
  // An access whose constant offset already lies beyond the guarded range needs no check.
  for (const offset of nul.unchecked) if (offset >= nul.size) nul.guarded++;
  for (const offset of ro.unchecked) if (ro.guarded > 0 && offset >= ro.end) ro.guarded++;
  const coverage = (sites: number, guarded: number, detail: string, protects: Range[]): Coverage | null =>
    guarded === 0 ? null : { sites, guarded, verified: guarded === sites, detail, protects: protects.filter((r) => r.end > r.start) };
  // A bulk range counts only when every bulk write is checked against it.
  const bulkRanges = [...bulk.byKind.values()].filter((r) => r.sites === bulk.sites).map(({ start, end }) => ({ start, end }));
  return {
    passes: {
      stack: coverage(stack.sites, stack.guarded, `stack pointer kept at or above ${stack.limit}`, [{ start: 0, end: stack.limit }]),
      null: coverage(nul.sites, nul.guarded, `loads and stores below ${nul.size} trap`, [{ start: 0, end: nul.size }]),
      rodata: coverage(ro.sites, ro.guarded, `stores into [${ro.start}, ${ro.end}) trap`, [{ start: ro.start, end: ro.end }]),
      bulk: coverage(bulk.sites, bulk.guarded, `memory.fill/copy/init into ${bulkRanges.map((r) => `[${r.start}, ${r.end})`).join(' or ') || 'no range every site checks'} trap`, bulkRanges),
    },
  };
}

/** The longest of `ranges` (a site wrapped twice keeps its better check), or null. */
function widest(ranges: Range[]): Range | null {
  let best: Range | null = null;
  for (const r of ranges) if (!best || r.end - r.start > best.end - best.start) best = r;
  return best;
}
