// One pass over each function body that applies every code rewrite at once,
// at the sites the shared walk recorded (binary/body-walk.ts): the bytes
// between sites are copied as they are, nothing is decoded again.
//
// - fuel: at the function entry and every loop header, the static instruction
//   count of the region that starts there is charged (see fuel.ts);
// - bulk charges: before memory.fill/copy/init, table.fill/copy/init/grow and
//   memory.grow, fuel in proportion to the operation's size (its last operand);
// - checkpoints: before each of those operations, a call to the injected
//   deadline checkpoint import (every grow; fills, copies and inits from
//   CHECKPOINT_MIN_BYTES or CHECKPOINT_MIN_ELEMENTS up, checked inline), and
//   fills and copies of memory 0 and of funcref and externref tables split
//   into chunks with a checkpoint after each (chunks.ts);
// - renumbering: `call`, `return_call` and `ref.func` immediates, when an
//   inserted import shifted the function index space.
//
// Nothing inserted changes the operand stack the guest's own code sees: each
// sequence leaves the stack exactly as it found it.

import { SITE_MEMORY0, SITE_WORDS, SiteKind, walkBodies, type CodeFacts, type SiteRecording } from '../binary/body-walk.js';
import { ByteReader } from '../binary/reader.js';
import type { WasmModule } from '../binary/types.js';
import { CodeWriter } from './code-writer.js';
import { CHECKPOINT_MIN_BYTES, CHECKPOINT_MIN_ELEMENTS } from './checkpoint.js';
import { emitChunkedCopy, emitChunkedFill, MEMORY0, memoryCopy, memoryFill, tableCopy, tableFill, tableSpace } from './chunks.js';
import { emitBulkCharge, emitCharge, emitPark, type BulkCost } from './fuel.js';
import type { FunctionRemap } from './sections.js';
import { defaultDecodeLimits } from '../binary/limits.js';
import { tableElemType } from '../binary/lookup.js';

/**
 * The rewrite would pass what V8 compiles: a function body over its limit
 * (7,654,321 bytes) or code over its module limit (1 GiB). Charges, checks and
 * chunked fills multiply dense code (a body of 9-byte memory.fills grows 14x
 * under fuel and checkpoints): such a module cannot run under this policy, and
 * the rewrite stops at the first body past the limits instead of building
 * gigabytes V8 would refuse.
 */
export class RewriteTooLarge extends Error {
  override name = 'RewriteTooLarge';
}

export interface BodyPlan {
  /** Metering: the counter global, and each memory's and table's maximum (a grow past it is charged nothing). */
  fuel: { counter: number; memoryMax: readonly number[]; tableMax: readonly number[] } | null;
  /**
   * The first i32 scratch global: bulk charges and checkpoints park a size in
   * it (needed with either); with checkpoints, chunked fills and copies also
   * use the two after it.
   */
  scratch: number | null;
  /** Function index of the injected checkpoint import, or null for none. */
  checkpoint: number | null;
  /**
   * With checkpoints in a module with tables: scratch globals of type funcref
   * and externref, where a chunked table.fill parks its value.
   */
  refScratch?: { funcref: number; externref: number } | null;
  /** Renumbering of function indices, or null when they do not move. */
  remap: FunctionRemap | null;
}

/** Whether the plan changes any body at all. */
export function plansCode(plan: BodyPlan): boolean {
  return plan.fuel !== null || plan.checkpoint !== null || plan.remap !== null;
}

const bulkCosts: readonly BulkCost[] = ['bytes', 'pages', 'elements', 'table-grow'];

/**
 * The sites a plan patches: fuel regions with fuel; bulk operations with fuel
 * or checkpoints; calls and ref.funcs from the first moved index when an
 * inserted import renumbers (the remap is the identity below `firstMoved`).
 */
export function sitesFor(plan: BodyPlan, firstMoved: number): SiteRecording {
  return { regions: plan.fuel !== null, bulk: plan.fuel !== null || plan.checkpoint !== null, callsFrom: plan.remap ? firstMoved : null };
}

const sameRecording = (a: SiteRecording, b: SiteRecording) => a.regions === b.regions && a.bulk === b.bulk && a.callsFrom === b.callsFrom;

/**
 * The walk's facts for `module` with the sites `plan` patches: `facts` when
 * they are of these bytes and recorded those sites, else a walk now.
 */
export function planSites(module: WasmModule, plan: BodyPlan, facts?: CodeFacts): CodeFacts {
  const record = sitesFor(plan, module.importedFunctionCount);
  if (facts && facts.bytes === module.bytes && sameRecording(facts.recording, record)) return facts;
  return walkBodies(module, { record });
}

/**
 * Writes the rewritten body of defined function `bodyIndex` (size, locals as
 * shipped, code) to `out`: the bytes between recorded sites are copied as
 * they are, code is inserted at each site. Writes nothing and returns false
 * when the body has no site.
 */
function emitBody(module: WasmModule, bodyIndex: number, plan: BodyPlan, facts: CodeFacts, out: CodeWriter): boolean {
  const first = facts.bodySites[bodyIndex]!;
  const last = facts.bodySites[bodyIndex + 1]!;
  if (first === last) return false;
  const body = module.code[bodyIndex]!;
  const { fuel, checkpoint, remap } = plan;
  const sites = facts.sites;
  const bytes = module.bytes;
  const size = out.sizePlaceholder();
  out.copy(bytes, body.start, body.codeStart); // local declarations, as shipped
  let copied = body.codeStart;
  const reader = new ByteReader(bytes, body.codeStart, body.end);
  for (let s = first; s < last; s++) {
    const what = sites[s * SITE_WORDS]!;
    const at = sites[s * SITE_WORDS + 1]!;
    out.copy(bytes, copied, at);
    copied = at;
    switch (what & 3) {
      case SiteKind.Region:
        emitCharge(out, fuel!.counter, Math.max(1, what >>> 2));
        break;
      case SiteKind.Bulk: {
        const bulk = bulkCosts[(what >> 2) & 3]!;
        if (fuel) {
          // A grow is checked against its memory's or table's maximum: the index, read again after the opcode.
          let index = 0;
          if (bulk === 'table-grow' || bulk === 'pages') {
            reader.pos = at + 1;
            if (bulk === 'table-grow') reader.u32(); // the sub-opcode
            index = reader.u32();
          }
          const growMax = bulk === 'pages' ? fuel.memoryMax[index]! : bulk === 'table-grow' ? fuel.tableMax[index]! : 0;
          emitBulkCharge(out, fuel.counter, plan.scratch!, bulk, growMax, index);
        }
        if (checkpoint === null) break;
        if (bulk === 'pages' || bulk === 'table-grow') {
          out.u8(0x10).u32(checkpoint); // every grow: V8 takes a millisecond or more per call
          break;
        }
        // Fills, copies and inits check the deadline when they are large enough to take time.
        if (!fuel) emitPark(out, plan.scratch!);
        out.u8(0x23).u32(plan.scratch!).u8(0x41).s32(bulk === 'bytes' ? CHECKPOINT_MIN_BYTES : CHECKPOINT_MIN_ELEMENTS);
        out.u8(0x4f).u8(0x04).u8(0x40).u8(0x10).u32(checkpoint).u8(0x0b); // i32.ge_u; if; call checkpoint; end
        emitChunking(out, module, plan, what, reader, at);
        break;
      }
      case SiteKind.Call: {
        // The function index, read again after the opcode.
        reader.pos = at + 1;
        const index = reader.u32();
        const moved = remap!(index);
        if (moved === index) break;
        out.u8(what >>> 8).u32(moved);
        copied = reader.pos;
        break;
      }
    }
  }
  out.copy(bytes, copied, body.end);
  out.patchSize(size);
  const rewritten = out.length - size - 5;
  if (rewritten > defaultDecodeLimits.maxFunctionBodyBytes) {
    throw new RewriteTooLarge(`function ${module.importedFunctionCount + bodyIndex} would be ${rewritten} bytes once rewritten (${body.end - body.start} as shipped), over V8's limit of ${defaultDecodeLimits.maxFunctionBodyBytes}`);
  }
  return true;
}

/**
 * Splits the bulk operation at `at` into chunks with a checkpoint after each,
 * when it is one that can be: memory.fill (11) and memory.copy (10) within
 * memory 0, table.fill (17) and table.copy (14) of funcref and externref
 * tables (a fill's value is parked in a global of its type). table.init and
 * memory.init are not chunked: their source is a segment of the module.
 */
function emitChunking(out: CodeWriter, module: WasmModule, plan: BodyPlan, what: number, reader: ByteReader, at: number): void {
  const opcode = what >>> 8;
  const scratch = plan.scratch!;
  const checkpoint = plan.checkpoint!;
  const words = { n: scratch, value: scratch + 1, d: scratch + 2 };
  if (what & SITE_MEMORY0) {
    if (opcode === 11) emitChunkedFill(out, words, MEMORY0, memoryFill, checkpoint);
    else if (opcode === 10) emitChunkedCopy(out, scratch, { dst: MEMORY0, src: MEMORY0 }, memoryCopy, checkpoint);
    return;
  }
  if (opcode !== 17 && opcode !== 14) return;
  // The table indices, read again after the opcode.
  reader.pos = at + 1;
  reader.u32(); // the sub-opcode
  const first = reader.u32();
  if (opcode === 17) {
    const type = tableElemType(module, first);
    if (!plan.refScratch || (type !== 'funcref' && type !== 'externref')) return;
    emitChunkedFill(out, { ...words, value: plan.refScratch[type] }, tableSpace(first), tableFill(first), checkpoint);
  } else {
    const src = reader.u32();
    emitChunkedCopy(out, scratch, { dst: tableSpace(first), src: tableSpace(src) }, tableCopy(first, src), checkpoint);
  }
}

/**
 * The code section's payload with every body the plan changes rewritten and
 * `appended` bodies (each already size-prefixed) after the module's own, or
 * null when nothing changes.
 */
export function codePayload(module: WasmModule, plan: BodyPlan, appended: readonly Uint8Array[] = [], walked?: CodeFacts): Uint8Array | null {
  if (!plansCode(plan) && appended.length === 0) return null;
  const facts = plansCode(plan) ? planSites(module, plan, walked) : null;
  // Sized to the code section and a quarter more (charges, checkpoints); it grows if that is short.
  const code = module.sections.find((section) => section.id === 10);
  const codeBytes = code ? code.end - code.payloadStart : 0;
  const out = new CodeWriter(codeBytes + (codeBytes >> 2) + 1024);
  out.u32(module.code.length + appended.length);
  module.code.forEach((body, f) => {
    if (!(facts && emitBody(module, f, plan, facts, out))) out.u32(body.end - body.start).copy(module.bytes, body.start, body.end);
    if (out.length > defaultDecodeLimits.maxModuleBytes) {
      throw new RewriteTooLarge(`the code would pass ${defaultDecodeLimits.maxModuleBytes} bytes once rewritten (V8's module limit) at function ${module.importedFunctionCount + f}`);
    }
  });
  for (const body of appended) out.copy(body, 0, body.length);
  return out.finish();
}

/** Every body the plan changes (locals and code, without the size), by defined-function index. */
export function rewriteBodies(module: WasmModule, plan: BodyPlan): Map<number, Uint8Array> {
  const bodies = new Map<number, Uint8Array>();
  if (!plansCode(plan)) return bodies;
  const facts = planSites(module, plan);
  for (let f = 0; f < module.code.length; f++) {
    const out = new CodeWriter(module.code[f]!.end - module.code[f]!.start + 256);
    if (emitBody(module, f, plan, facts, out)) bodies.set(f, out.finish().subarray(5));
  }
  return bodies;
}
