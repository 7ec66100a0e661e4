// Rewrites a verified, admitted module for the run: limits and metering.
// Each pass is a pure function of the decoded module; the input is never
// modified, and function indices never change.

import { rewriteModule, type ModuleEdits } from '../binary/encode.js';
import type { WasmModule } from '../binary/types.js';
import { fuelEdits } from './fuel.js';
import { limitEdits, memoryLimitEdits, tableLimitEdits } from './limits.js';

export { FUEL_EXPORT, MAX_FUEL, RESERVED_EXPORT_PREFIX } from './fuel.js';

const PAGE = 65536;

export interface TransformOptions {
  memoryBytes: number;
  tableElements: number;
  /** Inject fuel metering. */
  fuel: boolean;
  /**
   * The counter's starting value when metering. Give the run's budget so a
   * start function is metered from it; without it the counter starts at 0
   * and the host must set it before any guest code runs.
   */
  fuelBudget?: number | bigint;
}

/** The module's bytes with maxima capped and, if asked, fuel metering injected. */
export function prepareModule(module: WasmModule, options: TransformOptions): Uint8Array {
  const edits: ModuleEdits = { ...limitEdits(module, options), ...(options.fuel ? fuelEdits(module, options.fuelBudget) : {}) };
  if (!edits.memories?.size && !edits.tables?.size && !edits.bodies) return module.bytes;
  return rewriteModule(module, edits);
}

/**
 * Every memory the module defines gets a maximum of at most `maxPages` (64 KiB
 * each), so `memory.grow` returns -1 beyond it. Imported memories are the
 * host's to size; an initial size over the limit is admission's to refuse
 * (the maximum is then kept at the initial size, the smallest valid value).
 */
export function limitMemory(module: WasmModule, maxPages: number): Uint8Array {
  if (!Number.isSafeInteger(maxPages) || maxPages < 0) throw new RangeError(`maxPages must be a whole number, got ${maxPages}`);
  const memories = memoryLimitEdits(module, maxPages * PAGE);
  return memories.size ? rewriteModule(module, { memories }) : module.bytes;
}

/** Every table the module defines gets a maximum of at most `maxElements`, so `table.grow` returns -1 beyond it. */
export function limitTables(module: WasmModule, maxElements: number): Uint8Array {
  if (!Number.isSafeInteger(maxElements) || maxElements < 0) throw new RangeError(`maxElements must be a whole number, got ${maxElements}`);
  const tables = tableLimitEdits(module, maxElements);
  return tables.size ? rewriteModule(module, { tables }) : module.bytes;
}

/**
 * Injects fuel metering: an exported i64 global `__warden_fuel` (FUEL_EXPORT)
 * holds the fuel left, starting at `budget` (default 0: set it before calling
 * into the instance). Running out traps with `unreachable` and leaves the
 * counter negative, which is how a host tells a fuel trap from the guest's own.
 */
export function meterFuel(module: WasmModule, options: { budget?: number | bigint } = {}): Uint8Array {
  return rewriteModule(module, fuelEdits(module, options.budget));
}
