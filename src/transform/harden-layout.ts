// Where a compiled C/C++/Rust module keeps its stack, its static data and its
// constants, read from the module itself: the stack pointer global (by name
// in the name section, as an import, or by the heuristic of the first
// mutable, unexported i32 global), the active data segments of memory 0, and
// the `.rodata` segment when the name section names data segments (wasm-ld
// does unless the module was stripped). The hardening passes and the audit's
// memory-safety assessment both read the layout through this file.

import type { WasmModule } from '../binary/types.js';

export const STACK_POINTER = '__stack_pointer';
const DATA_END = '__data_end';

export interface StackPointer {
  global: number;
  name: string | null;
  foundBy: 'name' | 'import' | 'heuristic';
  /** Initial value; null when imported or not an i32.const. */
  initial: number | null;
}

export interface Range {
  start: number;
  /** Exclusive. */
  end: number;
}

export interface MemoryLayout {
  stackPointer: StackPointer | null;
  /** 'data-first': static data below the stack, which grows down into it; 'stack-first': nothing below the stack. */
  layout: 'data-first' | 'stack-first' | 'unknown';
  /**
   * The lowest address the stack may legitimately reach: the end of static
   * data, .bss included. The binary records .bss's end only when it keeps
   * wasm-ld's `__data_end` symbol; otherwise it is estimated (memoryLayout).
   * Null unless data-first.
   */
  staticEnd: number | null;
  staticEndFrom?: 'symbol' | 'estimate';
  /** The `.rodata` segment's range, when a data segment is named `.rodata`. */
  rodata: Range | null;
  /** The lowest address any active data segment of memory 0 starts at; null without any. */
  lowestData: number | null;
}

export function findStackPointer(module: WasmModule): StackPointer | null {
  const names = module.names?.globals;
  const initialOf = (index: number): number | null => {
    const global = module.globals.at(index - module.importedGlobalCount);
    return global?.init.value.kind === 'i32.const' ? global.init.value.value >>> 0 : null;
  };
  if (names) {
    for (const [index, name] of names) {
      if (name === STACK_POINTER) return { global: index, name, foundBy: 'name', initial: initialOf(index) };
    }
  }
  let globalIndex = 0;
  for (const imp of module.imports) {
    if (imp.desc.kind !== 'global') continue;
    // Position-independent code imports the stack pointer (env.__stack_pointer); its value is the host's.
    if (imp.name === STACK_POINTER) return { global: globalIndex, name: STACK_POINTER, foundBy: 'import', initial: null };
    globalIndex++;
  }
  const exportedGlobals = new Set(module.exports.filter((e) => e.kind === 'global').map((e) => e.index));
  for (let i = 0; i < module.globals.length; i++) {
    const index = module.importedGlobalCount + i;
    const { type } = module.globals.at(i)!;
    if (type.mutable && type.valType === 'i32' && !exportedGlobals.has(index)) {
      return { global: index, name: names?.get(index) ?? null, foundBy: 'heuristic', initial: initialOf(index) };
    }
  }
  return null;
}

/** Active segments of memory 0 with constant offsets, as address ranges, with their names. */
export function staticSegments(module: WasmModule): Array<Range & { name: string | null }> {
  const out: Array<Range & { name: string | null }> = [];
  module.data.forEach((segment, i) => {
    if (segment.mode.kind !== 'active' || segment.mode.index !== 0 || segment.mode.offset.value.kind !== 'i32.const') return;
    const start = segment.mode.offset.value.value >>> 0;
    out.push({ start, end: start + (segment.end - segment.start), name: module.names?.data.get(i) ?? null });
  });
  return out;
}

/** The value of a constant i32 global the module exports or names `__data_end` (wasm-ld's end of static data), or null. */
function namedDataEnd(module: WasmModule): number | null {
  const named = [...(module.names?.globals ?? [])].find(([, name]) => name === DATA_END)?.[0]
    ?? module.exports.find((e) => e.kind === 'global' && e.name === DATA_END)?.index;
  if (named === undefined) return null;
  const global = module.globals.at(named - module.importedGlobalCount);
  return global && !global.type.mutable && global.init.value.kind === 'i32.const' ? global.init.value.value >>> 0 : null;
}

export function memoryLayout(module: WasmModule): MemoryLayout {
  const stackPointer = findStackPointer(module);
  const segments = staticSegments(module);
  const rodataSegment = segments.find((s) => s.name === '.rodata' && s.end > s.start);
  const rodata = rodataSegment ? { start: rodataSegment.start, end: rodataSegment.end } : null;
  const lowestData = segments.length ? Math.min(...segments.map((s) => s.start)) : null;
  const top = stackPointer?.initial;
  // A stack pointer starting at 0 leaves no room for a stack: the heuristic found some other global.
  if (!top) return { stackPointer, layout: 'unknown', staticEnd: null, rodata, lowestData };
  let segmentsEnd = -1;
  for (const s of segments) if (s.end > s.start && s.start < top) segmentsEnd = Math.max(segmentsEnd, s.end);
  if (segmentsEnd < 0) return { stackPointer, layout: 'stack-first', staticEnd: null, rodata, lowestData };
  const exact = namedDataEnd(module);
  if (exact !== null && exact >= segmentsEnd && exact < top) return { stackPointer, layout: 'data-first', staticEnd: exact, staticEndFrom: 'symbol', rodata, lowestData };
  // wasm-ld starts the stack at the end of static data (16-aligned) and sizes it
  // in powers of two by convention (64 KiB by default): the largest power of two
  // that fits between the initialised data and the stack's top is its size.
  // .bss larger than the stack makes this too low: permissive, never too high.
  let size = 1;
  while (size * 2 <= top - segmentsEnd) size *= 2;
  return { stackPointer, layout: 'data-first', staticEnd: top - size, staticEndFrom: 'estimate', rodata, lowestData };
}
