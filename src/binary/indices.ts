// Index validation: every index a module names (in its sections and in every
// instruction's immediates) must fall inside the index space it names, as the
// module was shipped. The rewriter appends globals and functions after the
// module's own; a module checked here can never name them, because each of
// its indices was proved below the original end of its space.
//
// This is a second opinion beside V8's own validation (WebAssembly.validate on
// the same bytes), not a replacement: it checks indices and label depths only,
// not operand types.

import { WasmDecodeError } from './errors.js';
import { forEachInstruction, newInstruction } from './instructions.js';
import type { ConstExpr, Instruction, WasmModule } from './types.js';

/** The size of each index space of `module`, imports included. */
export function indexSpaces(module: WasmModule) {
  return {
    types: module.types.length,
    functions: module.importedFunctionCount + module.functions.length,
    tables: module.importedTableCount + module.tables.length,
    memories: module.importedMemoryCount + module.memories.length,
    globals: module.importedGlobalCount + module.globals.length,
    tags: module.importedTagCount + module.tags.length,
    elements: module.elements.length,
    data: module.dataCount ?? module.data.length,
  };
}

type Spaces = ReturnType<typeof indexSpaces>;

function check(index: number, size: number, what: string, offset: number): void {
  if (!(index < size)) throw new WasmDecodeError(`${what} index ${index} out of range (the module has ${size})`, offset);
}

function checkConstExpr(expr: ConstExpr, spaces: Spaces, globalsVisible: number): void {
  const v = expr.value;
  // Single-instruction expressions are the norm; longer ones (extended-const) are V8's to validate.
  if (v.kind === 'global.get') check(v.index, globalsVisible, 'global', expr.start);
  else if (v.kind === 'ref.func') check(v.index, spaces.functions, 'function', expr.start);
}

/** Checks one body's immediates against the spaces (locals: parameters and declared locals). */
function checkBody(module: WasmModule, bodyIndex: number, spaces: Spaces, ins: Instruction): void {
  const type = module.types[module.functions[bodyIndex]!];
  const locals = (type?.params.length ?? 0) + module.code[bodyIndex]!.localCount;
  const { functions, globals, tables, memories, types, tags, data, elements } = spaces;
  let depth = 1; // the function body is a label
  forEachInstruction(module, bodyIndex, (i) => {
    const at = i.offset;
    if (i.prefix === 0) {
      switch (i.code) {
        case 0x02: case 0x03: case 0x04: case 0x06:
          depth++;
          if (i.blockType!.kind === 'type') check(i.blockType!.index, types, 'type', at);
          return;
        case 0x1f: depth++; return;
        case 0x0b: depth--; return;
        case 0x18: depth--; check(i.index, depth, 'label', at); return; // delegate closes its try, then names an outer label
        case 0x0c: case 0x0d: case 0x09: case 0xd5: case 0xd6: check(i.index, depth, 'label', at); return;
        case 0x0e: for (const label of i.labels!) check(label, depth, 'label', at); return;
        case 0x10: case 0x12: case 0xd2: check(i.index, functions, 'function', at); return;
        case 0x11: case 0x13: check(i.index, types, 'type', at); check(i.index2, tables, 'table', at); return;
        case 0x14: case 0x15: check(i.index, types, 'type', at); return;
        case 0x20: case 0x21: case 0x22: check(i.index, locals, 'local', at); return;
        case 0x23: case 0x24: check(i.index, globals, 'global', at); return;
        case 0x25: case 0x26: check(i.index, tables, 'table', at); return;
        case 0x3f: case 0x40: check(i.index, memories, 'memory', at); return;
        case 0x07: case 0x08: check(i.index, tags, 'tag', at); return;
      }
      if (i.memArg) check(i.memArg.memory, memories, 'memory', at);
      return;
    }
    if (i.memArg) { check(i.memArg.memory, memories, 'memory', at); return; }
    if (i.prefix !== 0xfc) return;
    switch (i.code) {
      case 8: check(i.index, data, 'data segment', at); check(i.index2, memories, 'memory', at); return; // memory.init
      case 9: check(i.index, data, 'data segment', at); return; // data.drop
      case 10: check(i.index, memories, 'memory', at); check(i.index2, memories, 'memory', at); return; // memory.copy
      case 11: check(i.index, memories, 'memory', at); return; // memory.fill
      case 12: check(i.index, elements, 'element segment', at); check(i.index2, tables, 'table', at); return; // table.init
      case 13: check(i.index, elements, 'element segment', at); return; // elem.drop
      case 14: check(i.index, tables, 'table', at); check(i.index2, tables, 'table', at); return; // table.copy
      case 15: case 16: case 17: check(i.index, tables, 'table', at); return; // table.grow, size, fill
    }
  }, ins);
}

/**
 * Throws WasmDecodeError at the first index that falls outside its space, in
 * the sections or in any function body. Walks every body once.
 */
export function checkIndices(module: WasmModule): void {
  const spaces = indexSpaces(module);
  for (const imp of module.imports) {
    if (imp.desc.kind === 'func') check(imp.desc.typeIndex, spaces.types, 'type', imp.offset);
    if (imp.desc.kind === 'tag') check(imp.desc.type.typeIndex, spaces.types, 'type', imp.offset);
  }
  module.functions.forEach((typeIndex) => check(typeIndex, spaces.types, 'type', 0));
  module.tags.forEach((tag) => check(tag.typeIndex, spaces.types, 'type', 0));
  module.globals.forEach((global, i) => checkConstExpr(global.init, spaces, module.importedGlobalCount + i));
  const sizeOf = { func: spaces.functions, table: spaces.tables, memory: spaces.memories, global: spaces.globals, tag: spaces.tags };
  for (const e of module.exports) check(e.index, sizeOf[e.kind], `exported ${e.kind}`, 0);
  if (module.start !== null) check(module.start, spaces.functions, 'start function', 0);
  for (const segment of module.elements) {
    if (segment.mode.kind === 'active') {
      check(segment.mode.index, spaces.tables, 'table', segment.mode.offset.start);
      checkConstExpr(segment.mode.offset, spaces, spaces.globals);
    }
    for (const f of segment.functionIndices) check(f, spaces.functions, 'function', 0);
  }
  for (const segment of module.data) {
    if (segment.mode.kind === 'active') {
      check(segment.mode.index, spaces.memories, 'memory', segment.mode.offset.start);
      checkConstExpr(segment.mode.offset, spaces, spaces.globals);
    }
  }
  const ins = newInstruction();
  for (let f = 0; f < module.code.length; f++) checkBody(module, f, spaces, ins);
}
