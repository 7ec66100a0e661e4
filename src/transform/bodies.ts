// One pass over each function body that applies every code rewrite at once:
//
// - fuel: at the function entry and every loop header, the static instruction
//   count of the region that starts there is charged (see fuel.ts);
// - bulk charges: before memory.fill/copy/init, table.fill/copy/init/grow and
//   memory.grow, fuel in proportion to the operation's size (its last operand);
// - checkpoints: before each of those operations, a call to the injected
//   deadline checkpoint import (every grow; fills, copies and inits from
//   CHECKPOINT_MIN_BYTES or CHECKPOINT_MIN_ELEMENTS up, checked inline), and
//   fills and copies split into chunks with a checkpoint after each (chunks.ts);
// - renumbering: `call`, `return_call` and `ref.func` immediates, when an
//   inserted import shifted the function index space.
//
// Nothing inserted changes the operand stack the guest's own code sees: each
// sequence leaves the stack exactly as it found it.

import { forEachInstruction, newInstruction } from '../binary/instructions.js';
import type { Instruction, WasmModule } from '../binary/types.js';
import { CodeWriter } from './code-writer.js';
import { CHECKPOINT_MIN_BYTES, CHECKPOINT_MIN_ELEMENTS } from './checkpoint.js';
import { emitChunkedCopy, emitChunkedFill } from './chunks.js';
import { bulkCost, emitBulkCharge, emitCharge, emitPark, type BulkCost } from './fuel.js';
import type { FunctionRemap } from './sections.js';

export interface BodyPlan {
  /** Metering: the counter global, and the page count a memory.grow is charged up to. */
  fuel: { counter: number; growCapPages: number } | null;
  /**
   * The first i32 scratch global: bulk charges and checkpoints park a size in
   * it (needed with either); with checkpoints, chunked fills and copies also
   * use the two after it.
   */
  scratch: number | null;
  /** Function index of the injected checkpoint import, or null for none. */
  checkpoint: number | null;
  /** Renumbering of function indices, or null when they do not move. */
  remap: FunctionRemap | null;
}

const enum Site { Region, Bulk, Index }

interface Event {
  site: Site;
  at: number;
  /** Region: its static cost. Bulk: the table a table.grow grows. Index: the new function index. */
  value: number;
  /** Bulk: how to charge. */
  bulk: BulkCost | null;
  /** Index: the instruction's end. */
  end: number;
  /** Index: the opcode. Bulk: 11 or 10 when the fill or copy is split into chunks, else 0. */
  opcode: number;
}

/** Whether the plan changes any body at all. */
export function plansCode(plan: BodyPlan): boolean {
  return plan.fuel !== null || plan.checkpoint !== null || plan.remap !== null;
}

/**
 * Writes the rewritten body of defined function `bodyIndex` (size, locals as
 * shipped, code) to `out`, or writes nothing and returns false when nothing in
 * it changes.
 */
function emitBody(module: WasmModule, bodyIndex: number, plan: BodyPlan, ins: Instruction, out: CodeWriter): boolean {
  const body = module.code[bodyIndex]!;
  const events: Event[] = [];
  const blocks: boolean[] = []; // per open block: whether it is a loop (it opened a region)
  const open: Event[] = [];
  if (plan.fuel) {
    const entry: Event = { site: Site.Region, at: body.codeStart, value: 0, bulk: null, end: 0, opcode: 0 };
    events.push(entry);
    open.push(entry);
  }
  const { fuel, checkpoint, remap } = plan;
  forEachInstruction(module, bodyIndex, (i) => {
    if (fuel) open[open.length - 1]!.value++;
    if (i.prefix === 0) {
      switch (i.code) {
        case 0x03: // loop: a new region starts inside it
          if (fuel) {
            const region: Event = { site: Site.Region, at: i.end, value: 0, bulk: null, end: 0, opcode: 0 };
            events.push(region);
            open.push(region);
          }
          blocks.push(true);
          return;
        case 0x02: case 0x04: case 0x06: case 0x1f:
          blocks.push(false);
          return;
        case 0x0b:
          if (blocks.pop() && fuel) open.pop();
          return;
        case 0x18: // delegate closes a try
          blocks.pop();
          return;
        case 0x10: case 0x12: case 0xd2: // call, return_call, ref.func
          if (remap) {
            const moved = remap(i.index);
            if (moved !== i.index) events.push({ site: Site.Index, at: i.offset, value: moved, bulk: null, end: i.end, opcode: i.code });
          }
          return;
      }
    }
    if (fuel === null && checkpoint === null) return;
    const cost = bulkCost(i);
    if (!cost) return;
    // memory.fill (11) and memory.copy (10) within memory 0 are split into chunks when checkpoints are on.
    const chunked = checkpoint !== null && i.prefix === 0xfc && (i.code === 11 || i.code === 10) && i.index === 0 && (i.code === 11 || i.index2 === 0);
    events.push({ site: Site.Bulk, at: i.offset, value: cost === 'table-grow' ? i.index : 0, bulk: cost, end: i.end, opcode: chunked ? i.code : 0 });
  }, ins);
  if (events.length === 0) return false;

  const bytes = module.bytes;
  const size = out.sizePlaceholder();
  out.copy(bytes, body.start, body.codeStart); // local declarations, as shipped
  let copied = body.codeStart;
  for (const event of events) {
    out.copy(bytes, copied, event.at);
    copied = event.at;
    switch (event.site) {
      case Site.Region:
        emitCharge(out, fuel!.counter, Math.max(1, event.value));
        break;
      case Site.Bulk: {
        const bulk = event.bulk!;
        if (fuel) emitBulkCharge(out, fuel.counter, plan.scratch!, bulk, fuel.growCapPages, event.value);
        if (checkpoint === null) break;
        if (bulk === 'pages' || bulk === 'table-grow') {
          out.u8(0x10).u32(checkpoint); // every grow: V8 takes a millisecond or more per call
          break;
        }
        // Fills, copies and inits check the deadline when they are large enough to take time.
        if (!fuel) emitPark(out, plan.scratch!);
        out.u8(0x23).u32(plan.scratch!).u8(0x41).s32(bulk === 'bytes' ? CHECKPOINT_MIN_BYTES : CHECKPOINT_MIN_ELEMENTS);
        out.u8(0x4f).u8(0x04).u8(0x40).u8(0x10).u32(checkpoint).u8(0x0b); // i32.ge_u; if; call checkpoint; end
        if (event.opcode === 11) emitChunkedFill(out, plan.scratch!, checkpoint);
        else if (event.opcode === 10) emitChunkedCopy(out, plan.scratch!, checkpoint);
        break;
      }
      case Site.Index:
        out.u8(event.opcode).u32(event.value);
        copied = event.end;
        break;
    }
  }
  out.copy(bytes, copied, body.end);
  out.patchSize(size);
  return true;
}

/**
 * The code section's payload with every body the plan changes rewritten and
 * `appended` bodies (each already size-prefixed) after the module's own, or
 * null when nothing changes.
 */
export function codePayload(module: WasmModule, plan: BodyPlan, appended: readonly Uint8Array[] = []): Uint8Array | null {
  if (!plansCode(plan) && appended.length === 0) return null;
  // Sized to the code section and a quarter more (charges, checkpoints); it grows if that is short.
  const code = module.sections.find((section) => section.id === 10);
  const codeBytes = code ? code.end - code.payloadStart : 0;
  const out = new CodeWriter(codeBytes + (codeBytes >> 2) + 1024);
  out.u32(module.code.length + appended.length);
  const ins = newInstruction();
  module.code.forEach((body, f) => {
    if (plansCode(plan) && emitBody(module, f, plan, ins, out)) return;
    out.u32(body.end - body.start).copy(module.bytes, body.start, body.end);
  });
  for (const body of appended) out.copy(body, 0, body.length);
  return out.finish();
}

/** Every body the plan changes (locals and code, without the size), by defined-function index. */
export function rewriteBodies(module: WasmModule, plan: BodyPlan): Map<number, Uint8Array> {
  const bodies = new Map<number, Uint8Array>();
  if (!plansCode(plan)) return bodies;
  const ins = newInstruction();
  for (let f = 0; f < module.code.length; f++) {
    const out = new CodeWriter(module.code[f]!.end - module.code[f]!.start + 256);
    if (emitBody(module, f, plan, ins, out)) bodies.set(f, out.finish().subarray(5));
  }
  return bodies;
}
