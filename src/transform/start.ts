// The start function, moved into `_start`.
//
// A start function runs inside instantiation, before the host holds the
// instance: it cannot read the fuel counter after a trap there (so it could
// not tell a fuel trap from the guest's own `unreachable`), and the WASI
// host has not yet attached the guest's memory. The rewriter therefore drops
// the start section and exports, as `_start`, a new function that calls the
// start function and then the original `_start` with its arguments. A WASI
// command's host calls `_start` once, right after instantiation, so the order
// of everything the guest can observe is unchanged: segments are applied by
// instantiation, then the start function runs, then `_start`.

//
// A run that calls another export instead of `_start` (invoke, a plugin call)
// must still see the start function run first, exactly once: the rewriter
// therefore also exports the start function itself as START_EXPORT (under
// the reserved prefix admission refuses in a guest), and the host calls it
// before any entry other than `_start`. A module with a start function and
// no `_start` (a library, a plugin) loses its start section the same way and
// exports the start function alone under that name: it never runs inside
// instantiation, where the host could not read the fuel it spent.

import { ByteWriter } from '../binary/writer.js';
import { START_EXPORT } from './reserved-names.js';

export { START_EXPORT };
import type { WasmModule } from '../binary/types.js';
import type { FunctionRemap } from './sections.js';

export interface StartWrapper {
  /** Function index of the wrapper in the rewritten module. */
  index: number;
  /** The start function's index in the rewritten module (exported as START_EXPORT). */
  start: number;
  typeIndex: number;
  /** The body: no locals; call start; local.get each parameter; call _start; end. */
  body: Uint8Array;
}

function typeIndexOf(module: WasmModule, f: number): number {
  if (f >= module.importedFunctionCount) return module.functions[f - module.importedFunctionCount]!;
  let seen = 0;
  for (const imp of module.imports) {
    if (imp.desc.kind !== 'func') continue;
    if (seen++ === f) return imp.desc.typeIndex;
  }
  throw new RangeError(`no function ${f}`);
}

/**
 * The wrapper for a module with a start function and an exported `_start`
 * function, or null when there is nothing to move. `remap` gives the new index
 * of an original function; `index` is where the wrapper will sit (after every
 * other function).
 */
export function startWrapper(module: WasmModule, remap: FunctionRemap, index: number): StartWrapper | null {
  if (module.start === null) return null;
  const main = module.exports.find((e) => e.name === '_start' && e.kind === 'func');
  if (!main) return null;
  const typeIndex = typeIndexOf(module, main.index);
  const params = module.types[typeIndex]!.params.length;
  const writer = new ByteWriter(16 + params * 2).u32(0); // no locals
  writer.u8(0x10).u32(remap(module.start));
  for (let p = 0; p < params; p++) writer.u8(0x20).u32(p);
  writer.u8(0x10).u32(remap(main.index));
  writer.u8(0x0b);
  return { index, start: remap(module.start), typeIndex, body: writer.finish() };
}
