// Memory-safety posture of a compiled C/C++/Rust module, after Lehmann,
// Kinder and Pradel, "Everything Old is New Again: Binary Security of
// WebAssembly" (USENIX Security 2020): where the shadow stack sits relative to
// static data, whether a stack protector is linked in, and how exposed
// indirect calls are.

import type { WasmModule } from '../binary/types.js';
import type { CodeScan } from './code-scan.js';
import type { MemorySafety } from './report.js';

function findStackPointer(module: WasmModule): MemorySafety['stackPointer'] {
  const exportedGlobals = new Set(module.exports.filter((e) => e.kind === 'global').map((e) => e.index));
  const names = module.names?.globals;
  const initialOf = (index: number): number | null => {
    const global = module.globals[index - module.importedGlobalCount];
    return global?.init.value.kind === 'i32.const' ? global.init.value.value >>> 0 : null;
  };
  if (names) {
    for (const [index, name] of names) {
      if (name === '__stack_pointer') return { global: index, name, foundBy: 'name', initial: initialOf(index) };
    }
  }
  for (let i = 0; i < module.globals.length; i++) {
    const index = module.importedGlobalCount + i;
    const { type } = module.globals[i]!;
    if (type.mutable && type.valType === 'i32' && !exportedGlobals.has(index)) {
      return { global: index, name: names?.get(index) ?? null, foundBy: 'heuristic', initial: initialOf(index) };
    }
  }
  return null;
}

function staticDataRange(module: WasmModule): { start: number; end: number } | null {
  let start = Infinity;
  let end = -Infinity;
  for (const segment of module.data) {
    if (segment.mode.kind !== 'active' || segment.mode.offset.value.kind !== 'i32.const') continue;
    const at = segment.mode.offset.value.value >>> 0;
    start = Math.min(start, at);
    end = Math.max(end, at + (segment.end - segment.start));
  }
  return Number.isFinite(start) ? { start, end } : null;
}

function hasStackProtector(module: WasmModule): boolean {
  const names = ['__stack_chk_fail', '__stack_chk_guard'];
  if (module.imports.some((i) => names.includes(i.name))) return true;
  if (module.exports.some((e) => names.includes(e.name))) return true;
  const functionNames = module.names ? [...module.names.functions.values(), ...module.names.globals.values()] : [];
  return functionNames.some((n) => names.includes(n));
}

/** Table 0: the first imported table, else the first defined one. */
function firstTableLimits(module: WasmModule): { min: number } | undefined {
  for (const i of module.imports) if (i.desc.kind === 'table') return i.desc.type.limits;
  return module.tables[0]?.limits;
}

export function assessMemorySafety(module: WasmModule, scan: CodeScan): MemorySafety {
  const stackPointer = findStackPointer(module);
  const data = staticDataRange(module);
  let layout: MemorySafety['layout'] = 'unknown';
  let stackBytes: number | null = null;
  if (stackPointer?.initial != null) {
    const sp = stackPointer.initial;
    if (!data || sp <= data.start) {
      layout = 'stack-first';
      stackBytes = sp;
    } else if (sp >= data.end) {
      layout = 'data-first';
      stackBytes = sp - data.end;
    }
  }
  const inTable = new Set<number>();
  for (const segment of module.elements) for (const f of segment.functionIndices) inTable.add(f);
  const tableSize = firstTableLimits(module)?.min ?? null;
  const defined = module.functions.length;
  const allMemories = [
    ...module.imports.flatMap((i) => (i.desc.kind === 'memory' ? [i.desc.type.limits] : [])),
    ...module.memories.map((m) => m.limits),
  ];
  return {
    stackPointer,
    layout,
    stackBytes,
    stackProtector: hasStackProtector(module),
    indirectCalls: {
      sites: scan.indirectCallSites,
      distinctTypes: scan.indirectCallTypes.size,
      tableSize,
      functionsInTable: inTable.size,
      shareOfFunctionsInTable: defined > 0 ? Math.min(1, inTable.size / defined) : 0,
    },
    everyMemoryHasMaximum: allMemories.every((l) => l.max !== null),
  };
}
