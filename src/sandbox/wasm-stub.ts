// Unknown-import stubs whose signature has a v128: a JS function cannot take or
// return one (V8 throws a TypeError at the call, which ended the run as a trap of
// kind `other`), so such a stub is a function of a tiny Wasm module instead. It
// calls `notify` (a JS function of no parameters and no results: the count, and
// for a trapping stub the trap) and then leaves typed zeros as its results.

import { encodeFuncType } from '../binary/encode.js';
import type { ValType } from '../binary/types.js';
import { ByteWriter } from '../binary/writer.js';

/** The instruction that pushes each result type's zero. */
const ZERO_INSTRUCTION: Record<string, number[]> = {
  i32: [0x41, 0x00],
  i64: [0x42, 0x00],
  f32: [0x43, 0, 0, 0, 0],
  f64: [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
  v128: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  funcref: [0xd0, 0x70],
  externref: [0xd0, 0x6f],
};

/** Whether a JS function can stand for an import of this signature. */
export function needsWasmStub(params: readonly string[], results: readonly string[]): boolean {
  return params.includes('v128') || results.includes('v128');
}

/**
 * Compiled stub modules by signature: one compile per signature per isolate. Bounded: signatures are the
 * guest's, and a pool worker serves many modules, so a tenant deploying module after module of distinct
 * v128 signatures would otherwise grow this map for the worker's whole life. The oldest goes first.
 */
const compiled = new Map<string, WebAssembly.Module>();
const MAX_COMPILED_STUBS = 256;

function section(id: number, body: Uint8Array): Uint8Array {
  return new ByteWriter(body.length + 6).u8(id).u32(body.length).bytes(body).finish();
}

function stubModule(params: readonly string[], results: readonly string[]): WebAssembly.Module {
  const key = `${params.join(',')}>${results.join(',')}`;
  let module = compiled.get(key);
  if (module) return module;
  const types = new ByteWriter(64).u32(2);
  encodeFuncType(types, { params: [], results: [] });
  encodeFuncType(types, { params: params as ValType[], results: results as ValType[] });
  const code = new ByteWriter(64).u32(0).u8(0x10).u32(0); // no locals; call $notify
  for (const r of results) {
    const zero = ZERO_INSTRUCTION[r];
    if (!zero) throw new TypeError(`no zero for a result of type ${r}`);
    code.bytes(Uint8Array.from(zero));
  }
  const body = code.u8(0x0b).finish();
  const bytes = new ByteWriter(256)
    .bytes(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00))
    .bytes(section(1, types.finish()))
    .bytes(section(2, new ByteWriter(16).u32(1).name('stub').name('notify').u8(0x00).u32(0).finish()))
    .bytes(section(3, Uint8Array.of(1, 1)))
    .bytes(section(7, new ByteWriter(8).u32(1).name('f').u8(0x00).u32(1).finish()))
    .bytes(section(10, new ByteWriter(body.length + 8).u32(1).u32(body.length).bytes(body).finish()))
    .finish();
  module = new WebAssembly.Module(bytes);
  if (compiled.size >= MAX_COMPILED_STUBS) compiled.delete(compiled.keys().next().value!);
  compiled.set(key, module);
  return module;
}

/** How many stub modules are kept compiled (for tests). */
export const compiledStubCount = (): number => compiled.size;

/** A Wasm function of the import's signature that calls `notify` and returns typed zeros. */
export function wasmStub(params: readonly string[], results: readonly string[], notify: () => void): (...args: unknown[]) => unknown {
  const instance = new WebAssembly.Instance(stubModule(params, results), { stub: { notify } });
  return instance.exports.f as (...args: unknown[]) => unknown;
}
