// Hardening: guards compiled into a module's own code against the memory bugs
// WebAssembly does not stop inside a module's linear memory (Lehmann, Kinder
// and Pradel, USENIX Security 2020). Each pass is opt-in:
//
//   stack   every `global.set` of the stack pointer traps (stack-guard) when
//           the new value lies below the end of static data, so a stack that
//           overflows into .bss/.data traps instead of overwriting it;
//   null    every load and store traps (null-guard) when its effective address
//           lies below `nullSize` (default 1024: wasm-ld puts nothing there);
//   rodata  every store that would touch the constant-data range (the
//           `.rodata` segment, or a given range) traps (rodata-write);
//   bulk    memory.fill/copy/init trap when the range they write meets either
//           of those ranges (null-guard or rodata-write).
//
// No pass checks reads other than against the null page: an out-of-bounds read
// inside the module's memory is contained by WebAssembly, not stopped.
//
// The module must be valid as shipped (V8's validation and the index check):
// the passes append locals after every local a body declares, so a local index
// that was out of range in the original would name what the pass added.
// Nothing is renumbered; no function, import or global is added.
// The inserted code leaves the operand stack as it found it: operands are
// parked in fresh locals, checked, and pushed back in their order.

import { checkIndices } from '../binary/indices.js';
import { forEachInstruction, newInstruction } from '../binary/instructions.js';
import { encodeFunctionBody, rewriteModule } from '../binary/encode.js';
import type { Instruction, LocalDecl, WasmModule } from '../binary/types.js';
import { defaultDecodeLimits } from '../binary/limits.js';
import { RewriteTooLarge } from './bodies.js';
import { CodeWriter } from './code-writer.js';
import {
  accessOf, bulkDestinationMemory, emitBulkCheck, emitRangeCheck, isBulkWrite, NullProofs, type GuardKind,
} from './harden-guards.js';
import { memoryLayout, type MemoryLayout, type Range } from './harden-layout.js';
import { carries, recogniseHardening, type Hardening } from './harden-recognise.js';

import { DEFAULT_NULL_GUARD_BYTES, HARDEN_PASSES, type HardenPassName } from './harden-passes.js';

export { DEFAULT_NULL_GUARD_BYTES, HARDEN_PASSES, type HardenPassName };

export interface HardenOptions {
  passes: readonly HardenPassName[];
  /** Loads and stores below this address trap (null pass); default 1024. */
  nullSize?: number;
  /** The constant-data range, when the module names no `.rodata` segment (or to override it). */
  rodataRange?: Range;
  /** Report a pass that cannot apply to this module (status not-applicable) instead of failing: `--all` and the policy key. */
  lenient?: boolean;
  /**
   * The caller has already checked these very bytes with WebAssembly.validate
   * and the index check (prepare does, before admission's verdict stands):
   * they are not checked a second time. Only for a module the caller validated.
   */
  validatedAsShipped?: boolean;
}

export interface PassReport {
  pass: HardenPassName;
  /** applied: added now; present: the module already carried it (recognised from its code); not-applicable: skipped (lenient), detail says why. */
  status: 'applied' | 'present' | 'not-applicable';
  /** Sites guarded (stack-pointer writes, loads and stores, stores, bulk writes). */
  sites: number;
  /** What the guard compares against, for the output. */
  detail: string;
}

export interface HardenResult {
  /** The input's own bytes (the same array) when every pass asked for was already there. */
  bytes: Uint8Array;
  /**
   * The input carried a signature section, and the output does not: a
   * signature covers the publisher's bytes, not the hardened ones, so it is
   * removed rather than left to fail verification. Re-sign the output.
   */
  signatureRemoved: boolean;
  passes: PassReport[];
  layout: MemoryLayout;
  /**
   * What the output's null, rodata and bulk guards (applied now or carried already) keep the module's own
   * writes out of: the host keeps its writes for the module (WASI's fd_read, args_get…) out of them too.
   */
  writeGuarded: Range[];
}

/** A pass cannot apply to this module (and why), or the module is not valid as shipped. */
export class HardenError extends Error {
  override name = 'HardenError';
}

interface Plan {
  stack: { global: number; staticEnd: number } | null;
  nullSize: number | null;
  rodata: Range | null;
  bulk: Array<{ start: number; end: number; kind: GuardKind }> | null;
}

const hex = (n: number) => `0x${n.toString(16)}`;

function validateAsShipped(module: WasmModule): void {
  if (!WebAssembly.validate(module.bytes)) throw new HardenError('not a valid module: WebAssembly.validate refused it');
  try {
    checkIndices(module);
  } catch (error) {
    throw new HardenError(`not a valid module: ${(error as Error).message}`);
  }
}

function memoryOk(module: WasmModule, pass: HardenPassName): void {
  const memory = module.importedMemoryCount > 0
    ? module.imports.find((i) => i.desc.kind === 'memory')!.desc
    : module.memories[0] ? { kind: 'memory', type: module.memories[0] } : null;
  if (!memory) throw new HardenError(`--${pass}-guard: the module has no memory`);
  if ((memory as { type: { limits: { is64: boolean } } }).type.limits.is64) throw new HardenError(`--${pass}-guard: 64-bit memories are not supported`);
}

/**
 * The address ranges `pass` would protect in this module (stack: below the end
 * of static data; null: the guard; rodata: the constant range; bulk: both), or
 * a HardenError saying why it cannot apply. Shared with `warden inspect`, which
 * asks it whether the checks a module carries protect what the pass would.
 */
export function passProtection(module: WasmModule, layout: MemoryLayout, pass: HardenPassName, nullSize: number, rodataRange: Range | null): Range[] {
  if (pass === 'stack') {
    const sp = layout.stackPointer;
    if (!sp) throw new HardenError('--stack-guard: no stack pointer global found (no `__stack_pointer` name, no mutable i32 global)');
    if (sp.foundBy === 'import') throw new HardenError('--stack-guard: the stack pointer is imported; its placement is the host\'s');
    if (layout.layout === 'stack-first') throw new HardenError('--stack-guard: the stack is placed below static data (stack-first): an overflow already leaves memory and traps out-of-bounds');
    if (layout.staticEnd === null) throw new HardenError('--stack-guard: the stack pointer\'s initial value is not a constant; cannot place the stack');
    return [{ start: 0, end: layout.staticEnd }];
  }
  memoryOk(module, pass);
  if (pass === 'rodata') {
    if (!rodataRange) throw new HardenError('--rodata-guard: the module names no `.rodata` data segment; give --rodata-range START..END');
    if (!(rodataRange.start >= 0 && rodataRange.end > rodataRange.start && rodataRange.end <= 2 ** 32)) throw new HardenError(`--rodata-guard: bad range ${rodataRange.start}..${rodataRange.end}`);
    return [rodataRange];
  }
  // A data segment below the guard would make every access to it trap.
  if (layout.lowestData !== null && layout.lowestData < nullSize) {
    throw new HardenError(pass === 'null'
      ? `--null-guard: static data starts at ${layout.lowestData}, below the guard size ${nullSize}; give a smaller --null-guard-size`
      : `--bulk-guard: static data starts at ${layout.lowestData}, below the null-guard size ${nullSize}`);
  }
  const nullPage = { start: 0, end: nullSize };
  return pass === 'null' ? [nullPage] : rodataRange ? [nullPage, rodataRange] : [nullPage];
}

/** Hardens a decoded module; see the file comment. The module is not modified. */
export function hardenModule(module: WasmModule, options: HardenOptions): HardenResult {
  if (!options.validatedAsShipped) validateAsShipped(module);
  const layout = memoryLayout(module);
  const found = recogniseHardening(module);
  const wanted = new Set(options.passes);
  const reports: PassReport[] = [];
  const nullSize = options.nullSize ?? DEFAULT_NULL_GUARD_BYTES;
  if (!Number.isSafeInteger(nullSize) || nullSize < 1 || nullSize > 2 ** 31) throw new HardenError(`null-guard size must be 1 byte to 2 GiB, got ${nullSize}`);

  const plan: Plan = { stack: null, nullSize: null, rodata: null, bulk: null };
  const writeGuarded: Range[] = [];

  const rodataRange = options.rodataRange ?? layout.rodata;
  // A pass the module already carries counts as present only when its checks protect at least what the
  // pass would now (a publisher's checks against [0, 1) do not pass for a null guard of 1024 bytes; the
  // pass is applied over them). `lenient` turns a pass that cannot apply into a report instead of an error.
  for (const pass of HARDEN_PASSES) {
    if (!wanted.has(pass)) continue;
    const coverage = found.passes[pass];
    const present = () => {
      reports.push({ pass, status: 'present', sites: coverage!.sites, detail: coverage!.detail });
      if (pass !== 'stack') writeGuarded.push(...coverage!.protects);
    };
    let protects: Range[];
    try {
      protects = passProtection(module, layout, pass, nullSize, rodataRange);
    } catch (error) {
      if (!(error instanceof HardenError)) throw error;
      // What the pass would protect is unknown here (a --rodata-range given before, not now): the module's own checks stand.
      if (coverage?.verified) { present(); continue; }
      if (!options.lenient) throw error;
      reports.push({ pass, status: 'not-applicable', sites: 0, detail: error.message.replace(/^--[a-z-]+: /, '') });
      continue;
    }
    if (carries(coverage, protects)) { present(); continue; }
    if (pass !== 'stack') writeGuarded.push(...protects);
    if (pass === 'stack') plan.stack = { global: layout.stackPointer!.global, staticEnd: layout.staticEnd! };
    else if (pass === 'null') plan.nullSize = nullSize;
    else if (pass === 'rodata') plan.rodata = rodataRange;
    else plan.bulk = protects.map((r, i) => ({ ...r, kind: i === 0 ? 'null-guard' : 'rodata-write' }));
  }
  if (!plan.stack && plan.nullSize === null && !plan.rodata && !plan.bulk) return { bytes: module.bytes, passes: reports, layout, signatureRemoved: false, writeGuarded };

  const counts = { stack: 0, null: 0, rodata: 0, bulk: 0 };
  const bodies = new Map<number, Uint8Array>();
  const ins = newInstruction();
  // Guards multiply dense code (a body of 3-byte loads grows about ninefold under the null pass): the module
  // is refused at the first body that would pass V8's limits, before the rest is built.
  let size = module.bytes.length;
  for (let f = 0; f < module.code.length; f++) {
    const body = hardenBody(module, f, plan, ins, counts);
    if (!body) continue;
    bodies.set(f, body);
    size += body.length - (module.code[f]!.end - module.code[f]!.start);
    if (size > defaultDecodeLimits.maxModuleBytes) {
      throw new RewriteTooLarge(`the module would pass ${defaultDecodeLimits.maxModuleBytes} bytes once hardened (V8's module limit) at function ${module.importedFunctionCount + f}`);
    }
  }
  const signed = module.customs.some((c) => c.name === 'signature');
  const bytes = rewriteModule(module, { bodies, ...(signed ? { dropCustomSections: ['signature', 'signature_delimiter'] } : {}) });
  if (!WebAssembly.validate(bytes)) throw new HardenError('the hardened module does not validate (a function may have too many locals)');
  if (plan.stack) reports.push({ pass: 'stack', status: 'applied', sites: counts.stack, detail: `stack pointer (global ${plan.stack.global}) kept at or above ${plan.stack.staticEnd} (${hex(plan.stack.staticEnd)}), the end of static data` });
  if (plan.nullSize !== null) reports.push({ pass: 'null', status: 'applied', sites: counts.null, detail: `loads and stores below ${plan.nullSize} trap` });
  if (plan.rodata) reports.push({ pass: 'rodata', status: 'applied', sites: counts.rodata, detail: `stores into [${plan.rodata.start}, ${plan.rodata.end}) trap${options.rodataRange ? ' (given range)' : ' (the .rodata segment)'}` });
  if (plan.bulk) reports.push({ pass: 'bulk', status: 'applied', sites: counts.bulk, detail: `memory.fill/copy/init into ${plan.bulk.map((r) => `[${r.start}, ${r.end})`).join(' or ')} trap` });
  reports.sort((a, b) => HARDEN_PASSES.indexOf(a.pass) - HARDEN_PASSES.indexOf(b.pass));
  return { bytes, passes: reports, layout, signatureRemoved: signed, writeGuarded };
}

function paramCount(module: WasmModule, f: number): number {
  return module.types[module.functions[f]!]!.params.length;
}

/** Locals the guards park operands in, appended after the body's own. */
const ADDED_LOCALS: LocalDecl[] = [{ count: 3, type: 'i32' }, { count: 1, type: 'i64' }, { count: 1, type: 'f32' }, { count: 1, type: 'f64' }];

/** A site to guard, and for a load or store which of its checks it gets. */
interface Site { at: number; ins: Instruction; checkNull: boolean; checkRodata: boolean }

/**
 * The fewest bytes a guard adds in front of its site: one operand parked and
 * pushed back (two 2-byte local instructions) and one range check (18 bytes).
 */
const MIN_GUARD_BYTES = 22;

function hardenBody(module: WasmModule, f: number, plan: Plan, ins: Instruction, counts: Record<HardenPassName, number>): Uint8Array | null {
  const body = module.code[f]!;
  const sites: Site[] = [];
  const guardsAccesses = plan.nullSize !== null || plan.rodata !== null;
  const proofs = new NullProofs();
  let addressLocal: number | null = null; // the local the previous instruction got, if it was a local.get
  forEachInstruction(module, f, (i) => {
    const access = i.memArg && i.memArg.memory === 0 ? accessOf(i) : null;
    if (plan.stack && i.prefix === 0 && i.code === 0x24 && i.index === plan.stack.global) sites.push({ at: i.offset, ins: { ...i }, checkNull: false, checkRodata: false });
    else if (guardsAccesses && access) {
      const offset = i.memArg!.offset;
      let skipNull = false;
      if (plan.nullSize !== null && !access.store && addressLocal !== null) {
        skipNull = proofs.covers(addressLocal, offset);
        if (!skipNull && offset < plan.nullSize) proofs.prove(addressLocal, offset);
      }
      // Null page: the access starts below nullSize (the range starts at 0, so its size does not matter).
      const checkNull = plan.nullSize !== null && offset < plan.nullSize && !skipNull;
      const checkRodata = plan.rodata !== null && access.store && offset < plan.rodata.end;
      if (checkNull || checkRodata) sites.push({ at: i.offset, ins: { ...i, memArg: { ...i.memArg! } }, checkNull, checkRodata });
    } else if (plan.bulk && isBulkWrite(i) && bulkDestinationMemory(i) === 0) sites.push({ at: i.offset, ins: { ...i }, checkNull: false, checkRodata: false });
    else if (guardsAccesses && i.memArg && (i.prefix === 0xfd || i.prefix === 0xfe)) {
      throw new HardenError(`function ${module.importedFunctionCount + f}: ${i.name} is not covered by the null and read-only guards (SIMD and atomic accesses are not supported)`);
    }
    proofs.observe(i);
    addressLocal = i.prefix === 0 && i.code === 0x20 ? i.index : null;
  }, ins);
  if (sites.length === 0) return null;
  // Refused while planned: what the guards add at the least already takes the body past what V8 compiles.
  const limit = defaultDecodeLimits.maxFunctionBodyBytes;
  const tooLarge = () => new RewriteTooLarge(`function ${module.importedFunctionCount + f} would pass V8's limit of ${limit} bytes once hardened (${body.end - body.start} bytes as shipped, ${sites.length} sites to guard)`);
  if (body.end - body.start + sites.length * MIN_GUARD_BYTES > limit) throw tooLarge();

  const base = paramCount(module, f) + body.localCount;
  const L = base, V32 = base + 1, N = base + 2, V64 = base + 3, VF32 = base + 4, VF64 = base + 5;
  const valueLocal = { i32: V32, i64: V64, f32: VF32, f64: VF64 } as const;
  const out = new CodeWriter(body.end - body.codeStart + sites.length * 40 + 16);
  let copied = body.codeStart;
  for (const { at, ins: site, checkNull, checkRodata } of sites) {
    if (out.length > limit) throw tooLarge();
    const access = accessOf(site);
    const guard = new CodeWriter(64);
    if (site.prefix === 0 && site.code === 0x24) {
      guard.u8(0x21).u32(L);
      emitRangeCheck(guard, L, 0, plan.stack!.staticEnd, 'stack-guard');
      guard.u8(0x20).u32(L);
      counts.stack++;
    } else if (access) {
      const offset = site.memArg!.offset;
      const checks = new CodeWriter(32);
      if (checkNull) {
        emitRangeCheck(checks, L, 0, plan.nullSize! - offset, 'null-guard');
        counts.null++;
      }
      // Read-only data: [addr + offset, + size) meets [start, end).
      if (checkRodata) {
        const lo = Math.max(0, plan.rodata!.start - access.size + 1 - offset);
        const hi = plan.rodata!.end - offset;
        emitRangeCheck(checks, L, lo, hi - lo, 'rodata-write');
        counts.rodata++;
      }
      if (access.store) guard.u8(0x21).u32(valueLocal[access.value!]);
      guard.u8(0x21).u32(L);
      guard.copy(checks.finish(), 0, checks.length);
      guard.u8(0x20).u32(L);
      if (access.store) guard.u8(0x20).u32(valueLocal[access.value!]);
    } else {
      guard.u8(0x21).u32(N).u8(0x21).u32(V32).u8(0x21).u32(L);
      for (const range of plan.bulk!) emitBulkCheck(guard, L, N, range.start, range.end, range.kind);
      guard.u8(0x20).u32(L).u8(0x20).u32(V32).u8(0x20).u32(N);
      counts.bulk++;
    }
    out.copy(module.bytes, copied, at);
    out.copy(guard.finish(), 0, guard.length);
    copied = at;
  }
  out.copy(module.bytes, copied, body.end);
  const hardened = encodeFunctionBody([...body.locals, ...ADDED_LOCALS], out.finish());
  if (hardened.length > limit) throw tooLarge();
  return hardened;
}

export type { Hardening, Range };
