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

/**
 * Table edits making the defined tables' maxima sum to at most `budget`
 * elements, so that all tables together never hold more, however the guest
 * grows them (table.grow returns -1 at a table's maximum).
 *
 * Each table keeps its initial size; the headroom left (budget minus the sum
 * of initial sizes) is shared out evenly, and a table whose own declared
 * maximum needs less than its share leaves the rest to the others (filled in
 * order of need, smallest first). A table whose declared maximum already
 * fits is not edited. When the initial sizes alone exceed the budget,
 * admission refuses the module; the maxima are then the initial sizes.
 */
export function tableLimitEdits(module: WasmModule, budget: number): Map<number, TableType> {
  const edits = new Map<number, TableType>();
  const tables = module.tables;
  const initial = tables.reduce((sum, t) => sum + t.limits.min, 0);
  let headroom = Math.max(0, budget - initial);
  const need = (i: number) => {
    const { min, max } = tables[i]!.limits;
    return max === null ? Infinity : max - min;
  };
  const order = tables.map((_, i) => i).sort((a, b) => need(a) - need(b) || a - b);
  order.forEach((i, k) => {
    const table = tables[i]!;
    const share = Math.floor(headroom / (order.length - k));
    const grant = Math.min(need(i), share);
    headroom -= grant;
    const { limits } = table;
    const max = Math.min(limits.min + grant, limits.is64 ? Number.MAX_SAFE_INTEGER : 0xffffffff);
    if (limits.max !== null && limits.max <= max) return;
    edits.set(i, { ...table, limits: { ...limits, max } });
  });
  return edits;
}

export function limitEdits(module: WasmModule, limits: { memoryBytes: number; tableElements: number }): ModuleEdits {
  return { memories: memoryLimitEdits(module, limits.memoryBytes), tables: tableLimitEdits(module, limits.tableElements) };
}
