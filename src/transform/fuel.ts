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
// The counter starts at `budget` (0 unless given), so a module whose start
// function runs during instantiation, before the host can set the counter,
// is metered from the real budget instead of trapping at once.

import { encodeFunctionBody, type ModuleEdits } from '../binary/encode.js';
import { forEachInstruction, newInstruction } from '../binary/instructions.js';
import type { Instruction, WasmModule } from '../binary/types.js';
import { ByteWriter } from '../binary/writer.js';

export const FUEL_EXPORT = '__warden_fuel';

interface Region {
  /** Absolute offset where the charge is inserted. */
  at: number;
  cost: number;
}

/** The charge sequence: fuel -= cost; if (fuel < 0) unreachable. */
function charge(writer: ByteWriter, global: number, cost: number): void {
  writer.u8(0x23).u32(global);        // global.get
  writer.u8(0x42).s64(BigInt(cost));  // i64.const cost
  writer.u8(0x7d);                    // i64.sub
  writer.u8(0x24).u32(global);        // global.set
  writer.u8(0x23).u32(global);        // global.get
  writer.u8(0x42).s64(0n);            // i64.const 0
  writer.u8(0x53);                    // i64.lt_s
  writer.u8(0x04).u8(0x40);           // if (empty)
  writer.u8(0x00);                    // unreachable
  writer.u8(0x0b);                    // end
}

/** Charge points and their costs for one body. */
function regionsOf(module: WasmModule, bodyIndex: number): Region[] {
  const body = module.code[bodyIndex]!;
  const regions: Region[] = [{ at: body.codeStart, cost: 0 }];
  // Per open block: the index of the region it opened (loops), or -1.
  const blocks: number[] = [];
  const open: number[] = [0];
  const ins = newInstruction();
  forEachInstruction(module, bodyIndex, (i: Instruction) => {
    regions[open[open.length - 1]!]!.cost++;
    if (i.prefix !== 0) return;
    switch (i.code) {
      case 0x03: // loop: a new region starts inside it
        regions.push({ at: i.end, cost: 0 });
        open.push(regions.length - 1);
        blocks.push(regions.length - 1);
        break;
      case 0x02: case 0x04: case 0x06: case 0x1f:
        blocks.push(-1);
        break;
      case 0x0b: {
        const closed = blocks.pop();
        if (closed !== undefined && closed >= 0) open.pop();
        break;
      }
      case 0x18: // delegate closes a try
        blocks.pop();
        break;
    }
  }, ins);
  return regions;
}

/** Names the rewriter adds to a module's exports; admission refuses modules that already use the prefix. */
export const RESERVED_EXPORT_PREFIX = '__warden_';

/** The largest budget the i64 counter holds. */
export const MAX_FUEL = 2n ** 63n - 1n;

/**
 * Edits that meter every function body, the counter starting at `budget`.
 * Index spaces are unchanged: the counter is a new last global.
 */
export function fuelEdits(module: WasmModule, budget: number | bigint = 0n): ModuleEdits {
  const initial = BigInt(budget);
  if (initial < 0n || initial > MAX_FUEL) throw new RangeError(`fuel budget out of range: ${initial}`);
  const global = module.importedGlobalCount + module.globals.length;
  const bodies = new Map<number, Uint8Array>();
  for (let f = 0; f < module.code.length; f++) {
    const body = module.code[f]!;
    const regions = regionsOf(module, f);
    const writer = new ByteWriter(body.end - body.codeStart + regions.length * 24);
    let copied = body.codeStart;
    for (const region of regions) {
      writer.bytes(module.bytes.subarray(copied, region.at));
      charge(writer, global, Math.max(1, region.cost));
      copied = region.at;
    }
    writer.bytes(module.bytes.subarray(copied, body.end));
    bodies.set(f, encodeFunctionBody(body.locals, writer.finish()));
  }
  return {
    bodies,
    addGlobals: [{ type: { valType: 'i64', mutable: true }, init: new ByteWriter(12).u8(0x42).s64(initial).u8(0x0b).finish() }],
    addExports: [{ name: FUEL_EXPORT, kind: 'global', index: global }],
  };
}
