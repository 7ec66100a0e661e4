// Rewrites declared maxima down to a policy's limits, so that memory.grow and
// table.grow fail (-1) exactly at the limit and the guest may go on. Memories
// and tables the module imports are the host's to size, so they are untouched.

import type { ModuleEdits } from '../binary/encode.js';
import type { MemoryType, TableType, WasmModule } from '../binary/types.js';

const PAGE = 65536;

/** Memory edits capping every defined memory at `maxBytes` (rounded down to pages). */
export function memoryLimitEdits(module: WasmModule, maxBytes: number): Map<number, MemoryType> {
  const maxPages = Math.floor(maxBytes / PAGE);
  const edits = new Map<number, MemoryType>();
  module.memories.forEach((memory, i) => {
    const { limits } = memory;
    if (limits.max !== null && limits.max <= maxPages) return;
    edits.set(i, { limits: { ...limits, max: Math.max(limits.min, maxPages) } });
  });
  return edits;
}

/** Table edits capping every defined table at `maxElements`. */
export function tableLimitEdits(module: WasmModule, maxElements: number): Map<number, TableType> {
  const edits = new Map<number, TableType>();
  module.tables.forEach((table, i) => {
    const { limits } = table;
    if (limits.max !== null && limits.max <= maxElements) return;
    edits.set(i, { ...table, limits: { ...limits, max: Math.max(limits.min, maxElements) } });
  });
  return edits;
}

export function limitEdits(module: WasmModule, limits: { memoryBytes: number; tableElements: number }): ModuleEdits {
  return { memories: memoryLimitEdits(module, limits.memoryBytes), tables: tableLimitEdits(module, limits.tableElements) };
}
