// Rewrites a verified, admitted module for the run: limits and metering.

import { rewriteModule, type ModuleEdits } from '../binary/encode.js';
import type { WasmModule } from '../binary/types.js';
import { fuelEdits } from './fuel.js';
import { limitEdits } from './limits.js';

export { FUEL_EXPORT } from './fuel.js';

export interface TransformOptions {
  memoryBytes: number;
  tableElements: number;
  fuel: boolean;
}

/** The module's bytes with maxima capped and, if asked, fuel metering injected. */
export function prepareModule(module: WasmModule, options: TransformOptions): Uint8Array {
  const edits: ModuleEdits = { ...limitEdits(module, options), ...(options.fuel ? fuelEdits(module) : {}) };
  if (!edits.memories?.size && !edits.tables?.size && !edits.bodies) return module.bytes;
  return rewriteModule(module, edits);
}
