// Memory-safety posture of a compiled C/C++/Rust module, after Lehmann,
// Kinder and Pradel, "Everything Old is New Again: Binary Security of
// WebAssembly" (USENIX Security 2020): where the shadow stack sits relative to
// static data, whether a stack protector is linked in, and how exposed
// indirect calls are.

import type { WasmModule } from '../binary/types.js';
import type { CodeScan } from './code-scan.js';
import type { MemorySafety } from './report.js';
import { HardenError, passProtection } from '../transform/harden.js';
import { findStackPointer, memoryLayout, type MemoryLayout } from '../transform/harden-layout.js';
import { DEFAULT_NULL_GUARD_BYTES, HARDEN_PASSES, type HardenPassName } from '../transform/harden-passes.js';
import { carries, recogniseHardening, type Coverage } from '../transform/harden-recognise.js';

const STACK_PROTECTOR_SYMBOLS = new Set(['__stack_chk_fail', '__stack_chk_guard']);

/** What the module carries (recognised from its code) and what would still apply. */
function hardeningOf(module: WasmModule, bulkWrites: boolean): Pick<MemorySafety, 'hardening' | 'hardeningApplicable'> {
  const found = recogniseHardening(module);
  const layout = memoryLayout(module);
  const hardening: MemorySafety['hardening'] = [];
  for (const pass of HARDEN_PASSES) {
    const c = found.passes[pass];
    if (c) hardening.push({ pass, status: c.verified && protectsEnough(module, layout, pass, c) ? 'verified' : 'partial', sites: c.sites, guarded: c.guarded, detail: c.detail });
  }
  const hasMemory = module.memories.length > 0 || module.importedMemoryCount > 0;
  const would = {
    stack: layout.layout === 'data-first' && layout.stackPointer?.foundBy !== 'import',
    null: hasMemory && (layout.lowestData === null || layout.lowestData >= DEFAULT_NULL_GUARD_BYTES),
    rodata: layout.rodata !== null,
    bulk: hasMemory && bulkWrites,
  };
  const carried = new Set(hardening.filter((h) => h.status === 'verified').map((h) => h.pass));
  return { hardening, hardeningApplicable: HARDEN_PASSES.filter((p) => would[p] && !carried.has(p)) };
}

/**
 * Whether checks at every site protect what the pass would here with its
 * defaults: checks against [0, 1) guard every site and protect nothing, and
 * must not read as hardened. Where the pass cannot say (no .rodata segment
 * named, data below the default null guard), the checks stand.
 */
function protectsEnough(module: WasmModule, layout: MemoryLayout, pass: HardenPassName, coverage: Coverage): boolean {
  try {
    return carries(coverage, passProtection(module, layout, pass, DEFAULT_NULL_GUARD_BYTES, layout.rodata));
  } catch (error) {
    if (error instanceof HardenError) return true;
    throw error;
  }
}

/**
 * Places the stack against the active data segments of memory 0 with constant
 * offsets. Data that starts below the stack pointer is what an overflow of the
 * downward-growing stack runs into.
 */
function layoutOf(module: WasmModule, stackTop: number): { layout: MemorySafety['layout']; stackBytes: number } {
  let highestEndBelow = -1;
  for (const segment of module.data) {
    if (segment.mode.kind !== 'active' || segment.mode.index !== 0 || segment.mode.offset.value.kind !== 'i32.const') continue;
    const start = segment.mode.offset.value.value >>> 0;
    const length = segment.end - segment.start;
    if (length === 0 || start >= stackTop) continue;
    highestEndBelow = Math.max(highestEndBelow, start + length);
  }
  if (highestEndBelow < 0) return { layout: 'stack-first', stackBytes: stackTop };
  return { layout: 'data-first', stackBytes: Math.max(0, stackTop - highestEndBelow) };
}

function hasStackProtector(module: WasmModule): boolean {
  if (module.imports.some((i) => STACK_PROTECTOR_SYMBOLS.has(i.name))) return true;
  if (module.exports.some((e) => STACK_PROTECTOR_SYMBOLS.has(e.name))) return true;
  if (!module.names) return false;
  for (const name of module.names.functions.values()) if (STACK_PROTECTOR_SYMBOLS.has(name)) return true;
  for (const name of module.names.globals.values()) if (STACK_PROTECTOR_SYMBOLS.has(name)) return true;
  return false;
}

/** Table 0: the first imported table, else the first defined one. */
function firstTableSize(module: WasmModule): number | null {
  for (const i of module.imports) if (i.desc.kind === 'table') return i.desc.type.limits.min;
  return module.tables[0]?.limits.min ?? null;
}

export function assessMemorySafety(module: WasmModule, scan: CodeScan): MemorySafety {
  const stackPointer = findStackPointer(module);
  // A stack pointer starting at 0 leaves no room for a stack: the heuristic found some other global.
  const placed = stackPointer?.initial ? layoutOf(module, stackPointer.initial) : null;
  const inTable = new Set<number>();
  for (const segment of module.elements) {
    for (const f of segment.functionIndices) if (f >= module.importedFunctionCount) inTable.add(f);
  }
  const defined = module.functions.length;
  const allMemories = [
    ...module.imports.flatMap((i) => (i.desc.kind === 'memory' ? [i.desc.type.limits] : [])),
    ...module.memories.map((m) => m.limits),
  ];
  return {
    stackPointer,
    layout: placed?.layout ?? 'unknown',
    stackBytes: placed?.stackBytes ?? null,
    stackProtector: hasStackProtector(module),
    indirectCalls: {
      sites: scan.indirectCallSites,
      distinctTypes: scan.indirectCallTypes.size,
      tableSize: firstTableSize(module),
      functionsInTable: inTable.size,
      shareOfFunctionsInTable: defined > 0 ? inTable.size / defined : 0,
    },
    everyMemoryHasMaximum: allMemories.every((l) => l.max !== null),
    ...hardeningOf(module, scan.features.has('bulk-memory')),
  };
}
