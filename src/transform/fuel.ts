// Fuel metering: a deterministic instruction budget, injected into the code.
//
// A mutable i64 global (exported as `__warden_fuel`) holds what is left. At
// every function entry and every loop header the code subtracts the static
// instruction count of the region that starts there (up to the next loop
// header or the function's end, nested loops counted at their own headers)
// and traps with `unreachable` once the counter is negative. Every cycle of
// execution passes a loop header or a function entry, so no run outlasts its
// budget; counts are static, so the same input uses the same fuel every time.
// The host tells a fuel trap from others by the counter: negative means fuel.
//
// Bulk operations do work in proportion to an operand, not to their one
// instruction, so each also pays for its size, before it runs (bulkCost):
//
//   memory.fill / memory.copy / memory.init   1 unit per 8 bytes (n >> 3): what a loop
//                                             of 8-byte stores doing the same would pay
//   memory.grow                               8,192 units per page (64 KiB at that rate)
//   table.fill / table.copy / table.init      1,024 units per element: V8 sets a funcref
//                                             element through its dispatch table, 200-800 ns
//                                             each here, where an instruction takes about 0.5
//   table.grow                                1,024 units per element added AND per element
//                                             already there (V8 copies the whole table
//                                             on every grow: growing a 1M-element funcref
//                                             table by one took 560 ms here)
//
// A charge that takes the counter below zero traps before the operation
// touches anything, so an oversized fill costs its fuel and does nothing.
// A grow bound to fail (more than the memory's or the table's maximum leaves
// room for) is charged nothing for its size: it returns -1 having done
// nothing, so it costs what the host did, not what the guest asked, and a
// guest probing how far it may grow goes on rather than trapping.
//
// The counter starts at `budget` (0 unless given), so a module whose start
// function runs during instantiation, before the host can set the counter,
// is metered from the real budget instead of trapping at once.

import type { ModuleEdits } from '../binary/encode.js';
import type { Instruction, MemoryType, TableType, WasmModule } from '../binary/types.js';
import { ByteWriter } from '../binary/writer.js';
import { rewriteBodies } from './bodies.js';
import type { Emitter } from './code-writer.js';

import { FUEL_EXPORT, RESERVED_EXPORT_PREFIX } from './reserved-names.js';

export { FUEL_EXPORT, RESERVED_EXPORT_PREFIX };

/** The largest budget the i64 counter holds. */
export const MAX_FUEL = 2n ** 63n - 1n;

/** Bytes of memory.fill/copy/init per unit of fuel, as a shift: 8 bytes (one i64 store) per unit. */
export const BULK_BYTES_SHIFT = 3;
/** Fuel per page of memory.grow: a page's bytes at the bulk rate. */
export const GROW_PAGE_COST = 65536 >> BULK_BYTES_SHIFT;
/**
 * Fuel per element of table.fill/copy/init/grow: about what V8 takes per funcref element
 * (measured 180-1,260 ns an element, against 0.4-0.6 ns a metered instruction). At one unit
 * an element, a budget a spinning loop spent in 60 ms lasted 50-75 s of table.fill.
 */
export const TABLE_ELEMENT_COST = 1024;

export type BulkCost = 'bytes' | 'pages' | 'elements' | 'table-grow';

/** How `ins` pays for its size, or null when it is not a bulk operation. */
export function bulkCost(ins: Instruction): BulkCost | null {
  if (ins.prefix === 0) return ins.code === 0x40 ? 'pages' : null; // memory.grow
  if (ins.prefix !== 0xfc) return null;
  switch (ins.code) {
    case 8: case 10: case 11: return 'bytes'; // memory.init, memory.copy, memory.fill
    case 12: case 14: case 17: return 'elements'; // table.init, table.copy, table.fill
    case 15: return 'table-grow';
    default: return null;
  }
}

/** The check after every charge: if (fuel < 0) unreachable. */
function emitCheck(writer: Emitter, counter: number): void {
  writer.u8(0x23).u32(counter);       // global.get
  writer.u8(0x42).u8(0x00);           // i64.const 0
  writer.u8(0x53);                    // i64.lt_s
  writer.u8(0x04).u8(0x40);           // if (empty)
  writer.u8(0x00);                    // unreachable
  writer.u8(0x0b);                    // end
}

/** A static charge: fuel -= cost; then the check. */
export function emitCharge(writer: Emitter, counter: number, cost: number): void {
  writer.u8(0x23).u32(counter);       // global.get
  writer.u8(0x42).s32(cost);          // i64.const cost (below 2^31: the same bytes as s64)
  writer.u8(0x7d);                    // i64.sub
  writer.u8(0x24).u32(counter);       // global.set
  emitCheck(writer, counter);
}

/**
 * A charge for the size on top of the stack (an i32), which stays there:
 * the size is parked in the scratch global, pushed back, and read again to
 * compute the charge. A grow (memory.grow of memory `index`, table.grow of
 * table `index`) is charged only when it fits in what `growMax` (that
 * memory's or table's maximum) leaves beyond its current size, and nothing
 * when it must fail; table.grow also pays for the elements the table already
 * holds, since V8 copies them on a grow.
 */
export function emitBulkCharge(writer: Emitter, counter: number, scratch: number, cost: BulkCost, growMax: number, index: number): void {
  emitPark(writer, scratch);
  writer.u8(0x23).u32(counter);       // global.get counter
  if (cost === 'pages' || cost === 'table-grow') {
    // select(charged, 0, n <= max - size): u32 arithmetic, size <= max always; n + size <= max when it fits.
    const size = () => (cost === 'pages' ? writer.u8(0x3f).u32(index) : writer.u8(0xfc).u32(16).u32(index)); // memory.size | table.size
    writer.u8(0x23).u32(scratch);
    if (cost === 'table-grow') { size(); writer.u8(0x6a); } // + the elements held (i32.add)
    writer.u8(0x41).s32(0);
    writer.u8(0x23).u32(scratch);
    writer.u8(0x41).s32(growMax | 0); // the maximum, as the i32 with its bits (u32 compare)
    size();
    writer.u8(0x6b);                  // i32.sub: the room left
    writer.u8(0x4d);                  // i32.le_u
    writer.u8(0x1b);                  // select
  } else {
    writer.u8(0x23).u32(scratch);
  }
  writer.u8(0xad);                    // i64.extend_i32_u
  if (cost === 'bytes') writer.u8(0x42).s32(BULK_BYTES_SHIFT).u8(0x88); // i64.shr_u
  else if (cost === 'pages') writer.u8(0x42).s32(GROW_PAGE_COST).u8(0x7e); // i64.mul
  else writer.u8(0x42).s32(TABLE_ELEMENT_COST).u8(0x7e); // i64.mul
  writer.u8(0x7d);                    // i64.sub
  writer.u8(0x24).u32(counter);       // global.set counter
  emitCheck(writer, counter);
}

/** Parks the i32 on top of the stack in the scratch global and pushes it back: the stack is unchanged, the scratch holds it. */
export function emitPark(writer: Emitter, scratch: number): void {
  writer.u8(0x24).u32(scratch);       // global.set scratch
  writer.u8(0x23).u32(scratch);       // global.get scratch   (the operand, back in place)
}

/** The counter global (mutable i64 starting at `budget`), as a global-section entry. */
export function counterGlobal(budget: number | bigint): Uint8Array {
  const initial = BigInt(budget);
  if (initial < 0n || initial > MAX_FUEL) throw new RangeError(`fuel budget out of range: ${initial}`);
  return new ByteWriter(16).u8(0x7e).u8(1).u8(0x42).s64(initial).u8(0x0b).finish();
}

/** The scratch global (mutable i32) that bulk charges and checkpoints park a size in. */
export const SCRATCH_GLOBAL = Uint8Array.of(0x7f, 1, 0x41, 0, 0x0b);
/** Scratch globals (mutable, null at first) where a chunked table.fill parks its value: funcref, externref. */
export const FUNCREF_SCRATCH_GLOBAL = Uint8Array.of(0x70, 1, 0xd0, 0x70, 0x0b);
export const EXTERNREF_SCRATCH_GLOBAL = Uint8Array.of(0x6f, 1, 0xd0, 0x6f, 0x0b);

/**
 * Metering as plain module edits (bodies, the two globals, the export), for
 * callers that compose their own rewrite with `rewriteModule`. Unlike
 * `meterFuel`, a start function stays where it is.
 */
export function fuelEdits(module: WasmModule, budget: number | bigint = 0n): ModuleEdits {
  const counter = module.importedGlobalCount + module.globals.length;
  const bodies = rewriteBodies(module, { fuel: { counter, ...growMaxima(module) }, scratch: counter + 1, checkpoint: null, remap: null });
  return {
    bodies,
    addGlobals: [
      { type: { valType: 'i64', mutable: true }, init: counterGlobal(budget).subarray(2) },
      { type: { valType: 'i32', mutable: true }, init: SCRATCH_GLOBAL.subarray(2) },
    ],
    addExports: [{ name: FUEL_EXPORT, kind: 'global', index: counter }],
  };
}

/** A memory's maximum in pages when it declares none (or is imported): 4 GiB. */
const MEMORY32_MAX_PAGES = 65536;
/** A table's maximum in elements when it declares none (or is imported): the most an i32 counts. */
const TABLE32_MAX_ELEMENTS = 0xffffffff;

/**
 * Each memory's maximum in pages and each table's in elements, indexed as the code indexes them (imports
 * first), as the rewritten module declares them (`memories`, `tables`: the limits' edits, by definition index):
 * what a grow is checked against, to charge nothing for one that must fail.
 */
export function growMaxima(module: WasmModule, memories: ReadonlyMap<number, MemoryType> = new Map(), tables: ReadonlyMap<number, TableType> = new Map()): { memoryMax: number[]; tableMax: number[] } {
  return {
    memoryMax: [
      ...Array.from({ length: module.importedMemoryCount }, () => MEMORY32_MAX_PAGES),
      ...module.memories.map((m, i) => Math.min((memories.get(i) ?? m).limits.max ?? MEMORY32_MAX_PAGES, MEMORY32_MAX_PAGES)),
    ],
    tableMax: [
      ...Array.from({ length: module.importedTableCount }, () => TABLE32_MAX_ELEMENTS),
      ...module.tables.map((t, i) => Math.min((tables.get(i) ?? t).limits.max ?? TABLE32_MAX_ELEMENTS, TABLE32_MAX_ELEMENTS)),
    ],
  };
}
