// Index validation: every index a module names (in its sections and in every
// instruction's immediates) must fall inside the index space it names, as the
// module was shipped. The rewriter appends globals and functions after the
// module's own; a module checked here can never name them, because each of
// its indices was proved below the original end of its space.
//
// The bodies are checked in the shared walk (body-walk.ts).
//
// This is a second opinion beside V8's own validation (WebAssembly.validate on
// the same bytes), not a replacement: it checks indices and label depths only,
// not operand types.

import { WasmDecodeError } from './errors.js';
import { indexSpaces, walkBodies } from './body-walk.js';
import type { ConstExpr, WasmModule } from './types.js';

export { indexSpaces } from './body-walk.js';

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

/**
 * Throws WasmDecodeError at the first index that falls outside its space, in
 * the sections or in any function body. Walks every body once.
 */
export function checkIndices(module: WasmModule): void {
  checkSectionIndices(module);
  const { indexError } = walkBodies(module);
  if (indexError) throw indexError;
}

/**
 * The index checks outside function bodies (imports, functions, tags, globals,
 * exports, start, segments). The bodies' indices are checked by the walk that
 * admission shares (body-walk.ts), which returns the first out-of-range one.
 */
export function checkSectionIndices(module: WasmModule): void {
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
}
