// Differential testing of the decoder against V8. For any bytes V8 accepts
// (`WebAssembly.validate`), the decoder (bodies walked, every proposal read)
// must accept them too and read the same structure: the same imports and
// exports with the same types (V8's type reflection), and the same custom
// sections. Where the decoder is deliberately stricter, the class is listed
// below and in docs/RATIONALE.md; anything else is a mismatch.

import { isDeepStrictEqual } from 'node:util';
import v8 from 'node:v8';
import { decodeModule } from '../../src/binary/decode.js';
import { WasmDecodeError } from '../../src/binary/errors.js';
import { functionType } from '../../src/binary/lookup.js';
import { valTypeName } from '../../src/binary/valtypes.js';
import type { GlobalType, Limits, ValType, WasmModule } from '../../src/binary/types.js';

// Imports and exports then carry their types, so structure can be compared beyond names.
v8.setFlagsFromString('--experimental-wasm-type-reflection');
// The proposals this V8 has behind flags and the decoder reads: compared too.
// (Not gc or typed-funcref: this V8 reads an older encoding of them than the decoder.)
for (const flag of ['extended-const', 'memory64', 'relaxed-simd']) v8.setFlagsFromString(`--experimental-wasm-${flag}`);

import { DELIBERATELY_STRICTER } from './stricter.js';

export { DELIBERATELY_STRICTER };

export interface Mismatch {
  kind: 'refused' | 'structure';
  detail: string;
}

type Reflected = { imports: unknown[]; exports: unknown[]; customs: Record<string, string[]> };

const jsKind = { func: 'function', table: 'table', memory: 'memory', global: 'global', tag: 'tag' } as const;

function limitsType(limits: Limits): { minimum: number; maximum?: number } {
  return limits.max === null ? { minimum: limits.min } : { minimum: limits.min, maximum: limits.max };
}

const name = (t: ValType) => valTypeName(t);

/** The type V8's reflection gives item `index` of `kind`, from the decoded module. */
function reflectType(module: WasmModule, kind: keyof typeof jsKind, index: number): unknown {
  const nth = <T>(imported: T[], defined: T[]) => (index < imported.length ? imported[index] : defined[index - imported.length]);
  const importsOf = <K extends string>(k: K) => module.imports.filter((i) => i.desc.kind === k).map((i) => i.desc);
  switch (kind) {
    case 'func': {
      const type = functionType(module, index);
      return type && { parameters: type.params.map(name), results: type.results.map(name) };
    }
    case 'table': {
      const t = nth(importsOf('table').map((d) => (d as { type: typeof module.tables[0] }).type), module.tables);
      return t && { element: name(t.elemType), ...limitsType(t.limits) };
    }
    case 'memory': {
      const m = nth(importsOf('memory').map((d) => (d as { type: typeof module.memories[0] }).type), module.memories);
      return m && { ...limitsType(m.limits), shared: m.limits.shared };
    }
    case 'global': {
      const g = nth(importsOf('global').map((d) => (d as { type: GlobalType }).type), module.globals.map((x) => x.type));
      return g && { mutable: g.mutable, value: name(g.valType) };
    }
    case 'tag': return undefined;
  }
}

export function reflectDecoded(module: WasmModule): Reflected {
  const imports = module.imports.map((i) => {
    const entry: Record<string, unknown> = { module: i.module, name: i.name, kind: jsKind[i.desc.kind] };
    const type = i.desc.kind === 'func' ? reflectType(module, 'func', module.imports.filter((x) => x.desc.kind === 'func').indexOf(i))
      : i.desc.kind === 'table' ? { element: name(i.desc.type.elemType), ...limitsType(i.desc.type.limits) }
        : i.desc.kind === 'memory' ? { ...limitsType(i.desc.type.limits), shared: i.desc.type.limits.shared }
          : i.desc.kind === 'global' ? { mutable: i.desc.type.mutable, value: name(i.desc.type.valType) } : undefined;
    if (type !== undefined) entry.type = type;
    return entry;
  });
  const exports = module.exports.map((e) => {
    const entry: Record<string, unknown> = { name: e.name, kind: jsKind[e.kind] };
    const type = reflectType(module, e.kind, e.index);
    if (type !== undefined) entry.type = type;
    return entry;
  });
  const customs: Record<string, string[]> = {};
  for (const c of module.customs) (customs[c.name] ??= []).push(Buffer.from(module.bytes.subarray(c.start, c.end)).toString('hex'));
  return { imports, exports, customs };
}

export function reflectV8(compiled: WebAssembly.Module, customNames: Iterable<string>): Reflected {
  const customs: Record<string, string[]> = {};
  for (const n of new Set(customNames)) customs[n] = WebAssembly.Module.customSections(compiled, n).map((b) => Buffer.from(b).toString('hex'));
  return { imports: WebAssembly.Module.imports(compiled), exports: WebAssembly.Module.exports(compiled), customs };
}

/**
 * Null when the decoder and V8 agree on `bytes`: V8 refuses them, or both
 * accept them and read the same structure. V8 refusing what the decoder
 * accepts is agreement here: the decoder frames and walks, and does not type
 * check; admission asks V8 to validate as well.
 */
export function compareWithV8(bytes: Uint8Array): Mismatch | null {
  if (!WebAssembly.validate(bytes)) return null;
  let module: WasmModule;
  try {
    module = decodeModule(bytes);
  } catch (error) {
    if (!(error instanceof WasmDecodeError)) return { kind: 'refused', detail: `decoder threw ${String(error)}` };
    if (DELIBERATELY_STRICTER.some((c) => c.reason.test(error.reason))) return null;
    return { kind: 'refused', detail: `V8 accepts, the decoder refuses: ${error.message}` };
  }
  const ours = reflectDecoded(module);
  const theirs = reflectV8(new WebAssembly.Module(bytes), Object.keys(ours.customs));
  for (const key of ['imports', 'exports', 'customs'] as const) {
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(ours[key])), JSON.parse(JSON.stringify(theirs[key])))) {
      return { kind: 'structure', detail: `${key} differ: decoder ${JSON.stringify(ours[key]).slice(0, 400)} V8 ${JSON.stringify(theirs[key]).slice(0, 400)}` };
    }
  }
  return null;
}
