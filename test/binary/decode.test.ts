import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { WasmDecodeError } from '../../src/binary/errors.js';
import { decodeInstructions, forEachInstruction } from '../../src/binary/instructions.js';
import { watFixture, wat } from '../helpers/wat.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { join } from 'node:path';
import { parsePolicy } from '../../src/policy/load.js';
import { AdmissionError, prepare } from '../../src/sandbox/prepare.js';

describe('decodeModule on an assembled module using many proposals', async () => {
  const bytes = await watFixture('binary-features', { names: true });
  const module = decodeModule(bytes);

  it('decodes imports, with the shared memory limits', () => {
    assert.deepEqual(module.imports.map((i) => `${i.module}.${i.name}:${i.desc.kind}`), ['env.f:func', 'env.mem:memory']);
    const mem = module.imports[1]!.desc;
    assert.equal(mem.kind, 'memory');
    if (mem.kind === 'memory') assert.deepEqual(mem.type.limits, { min: 1, max: 2, shared: true, is64: false });
    assert.equal(module.importedFunctionCount, 1);
    assert.equal(module.importedMemoryCount, 1);
  });

  it('decodes globals with their constant initialisers', () => {
    assert.equal(module.globals.length, 2);
    assert.deepEqual(module.globals.at(0)!.type, { valType: 'i32', mutable: true });
    assert.deepEqual(module.globals.at(0)!.init.value, { kind: 'i32.const', value: 1048576 });
    assert.deepEqual(module.globals.at(1)!.init.value, { kind: 'i64.const', value: -42n });
  });

  it('decodes element and data segments', () => {
    assert.equal(module.elements.length, 1);
    assert.deepEqual([...module.elements.at(0)!.functionIndices], [1, 0]);
    assert.equal(module.data.length, 2);
    const text = new TextDecoder().decode(bytes.subarray(module.data.at(0)!.start, module.data.at(0)!.end));
    assert.equal(text, 'hello');
    assert.equal(module.data.at(1)!.mode.kind, 'passive');
    assert.equal(module.tags.length, 1);
  });

  it('decodes exports and the name section', () => {
    assert.deepEqual(module.exports.map((e) => e.name), ['add', 'ops']);
    assert.equal(module.names?.functions.get(1), 'add');
    assert.equal(module.names?.functions.get(2), 'ops');
    assert.equal(module.names?.globals.get(0), 'g');
    assert.equal(module.names?.data.get(1), 'passive');
    assert.equal(module.names?.tags.get(0), 'e');
  });

  it('reads every instruction with its immediates and feature', () => {
    const ops = decodeInstructions(module, 1);
    const byName = (name: string) => ops.find((i) => i.name === name)!;
    assert.deepEqual(byName('br_table').labels, [0, 0, 0]);
    assert.equal(byName('call_indirect').index, 0);
    assert.equal(byName('i32.extend8_s').feature, 'sign-extension');
    assert.equal(byName('i32.trunc_sat_f64_s').feature, 'nontrapping-fptoint');
    assert.equal(byName('f64.const').value, 1.5);
    assert.equal(byName('memory.init').index, 1);
    assert.equal(byName('memory.copy').feature, 'bulk-memory');
    assert.equal(byName('i8x16.shuffle').feature, 'simd');
    assert.equal(byName('i32x4.extract_lane').value, 2);
    assert.equal(byName('i32.atomic.load').memArg!.offset, 8);
    assert.equal(byName('memory.atomic.wait32').feature, 'threads');
    assert.equal(byName('try').feature, 'exceptions-legacy');
    assert.equal(byName('throw').index, 0);
    assert.equal(byName('return_call').feature, 'tail-call');
    const v128 = byName('v128.const');
    assert.deepEqual([...bytes.subarray(v128.bytesOffset, v128.bytesOffset + 8)], [1, 0, 0, 0, 2, 0, 0, 0]);
    // Offsets tile the body exactly.
    const body = module.code[1]!;
    assert.equal(ops[0]!.offset, body.codeStart);
    for (let i = 1; i < ops.length; i++) assert.equal(ops[i]!.offset, ops[i - 1]!.end);
    assert.equal(ops.at(-1)!.end, body.end);
    assert.equal(ops.at(-1)!.name, 'end');
  });

  it('decodes locals', () => {
    assert.deepEqual(module.code[1]!.locals, [{ count: 1, type: 'i64' }, { count: 1, type: 'f32' }]);
    assert.equal(module.code[1]!.localCount, 2);
  });
});

describe('decodeModule on a C module compiled here', () => {
  it('finds the stack pointer, producers and WASI imports of hello', () => {
    const bytes = readFileSync(fixture('c', 'hello.wasm'));
    const module = decodeModule(bytes);
    assert.ok(module.imports.every((i) => i.module === 'wasi_snapshot_preview1'));
    assert.ok(module.imports.some((i) => i.name === 'fd_write'));
    assert.ok(module.producers?.['processed-by']?.some((p) => p.name.includes('clang')));
    assert.ok(module.exports.some((e) => e.name === '_start'));
    let count = 0;
    for (let i = 0; i < module.code.length; i++) forEachInstruction(module, i, () => { count++; });
    assert.ok(count > 100);
  });
});

describe('decode errors carry offsets and reasons', () => {
  const cases: Array<[string, number[], RegExp]> = [
    ['empty', [], /too short/],
    ['bad magic', [0x7f, 0x45, 0x4c, 0x46, 1, 0, 0, 0], /magic/],
    ['component', [0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0], /component/],
    ['section past end', [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0x10, 0], /runs past the end/],
    ['unknown section', [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x20, 0], /unknown section/],
    ['out of order', [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 3, 1, 0, 1, 1, 0], /out of order/],
    ['huge type count', [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f], /exceeds/],
    ['overlong LEB', [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], /out of range/],
  ];
  for (const [name, bytes, reason] of cases) {
    it(name, () => {
      assert.throws(() => decodeModule(Uint8Array.from(bytes)), (error: unknown) => {
        assert.ok(error instanceof WasmDecodeError);
        assert.match(error.reason, reason);
        assert.ok(error.offset >= 0 && error.offset <= bytes.length);
        return true;
      });
    });
  }

  it('refuses a run-length local declaration of 10^9 locals before allocating', () => {
    // One function, one body: 1 group of 1,000,000,000 i32 locals.
    const body = [1, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0x7f, 0x0b];
    const bytes = Uint8Array.from([
      0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
      1, 4, 1, 0x60, 0, 0, // type () -> ()
      3, 2, 1, 0, // one function of type 0
      10, body.length + 2, 1, body.length, ...body,
    ]);
    assert.throws(() => decodeModule(bytes), /more than 50000 locals/);
  });

  it('refuses nesting beyond the limit', async () => {
    const depth = 50;
    const bytes = await wat(`(module (func ${'(block '.repeat(depth)}${')'.repeat(depth)}))`);
    assert.doesNotThrow(() => decodeModule(bytes));
    assert.throws(() => decodeModule(bytes, { limits: { maxNestingDepth: depth - 1 } }), /nesting deeper/);
  });

  it('refuses a module larger than the size cap', async () => {
    const bytes = await wat('(module (func))');
    assert.throws(() => decodeModule(bytes, { limits: { maxModuleBytes: 8 } }), WasmDecodeError);
  });

  it('refuses GC types cleanly', () => {
    const bytes = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x5f, 0, 0]);
    assert.throws(() => decodeModule(bytes), /proposal gc/);
  });

  it('recognises memory64', () => {
    const bytes = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0x04, 1]);
    const module = decodeModule(bytes);
    assert.equal(module.memories[0]!.limits.is64, true);
  });

  it('keeps a malformed name section as a recorded error, as engines do', () => {
    const name = [4, 0x6e, 0x61, 0x6d, 0x65];
    const bytes = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, name.length + 3, ...name, 1, 0x20, 0]);
    assert.equal(WebAssembly.validate(bytes), true);
    const module = decodeModule(bytes);
    assert.equal(module.names, null);
    assert.equal(module.customSectionErrors[0]!.name, 'name');
  });
});

export const bigModules = [
  'node_modules/@resvg/resvg-wasm/index_bg.wasm',
  'node_modules/esbuild-wasm/esbuild.wasm',
  'node_modules/@yowasp/yosys/gen/yosys.core.wasm',
].map((p) => join(repoRoot, p));

describe('the feature fixture', () => {
  it('is a module V8 accepts', async () => {
    assert.equal(WebAssembly.validate(await watFixture('binary-features')), true);
  });
});

describe('custom sections are counted', () => {
  /** A module of nothing but `n` empty custom sections (three bytes each: id, size 1, an empty name). */
  const customsOnly = (n: number): Uint8Array => {
    const bytes = new Uint8Array(8 + 3 * n);
    bytes.set([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    for (let i = 0; i < n; i++) bytes.set([0x00, 0x01, 0x00], 8 + 3 * i);
    return bytes;
  };

  it('decodes a module at the limit and refuses one past it where the extra section starts, before keeping the rest', () => {
    assert.equal(decodeModule(customsOnly(10_000)).customs.length, 10_000);
    assert.throws(() => decodeModule(customsOnly(10_001)), (e: Error) => e instanceof WasmDecodeError && /more than 10000 custom sections/.test(e.message) && e.offset === 8 + 3 * 10_000);
    // Millions of them (9 MB here; a section object or two each was 2.1 GB for 28.6 MiB) are refused all the same.
    assert.throws(() => decodeModule(customsOnly(3_000_000)), /more than 10000 custom sections/);
  });

  it('a policy admits none of them: refused as malformed', () => {
    assert.throws(() => prepare(customsOnly(50_000), parsePolicy({})), (e: Error) => e instanceof AdmissionError && e.violations[0]!.rule === 'malformed' && /custom sections/.test(e.violations[0]!.message));
  });
});

/** Unsigned LEB128 of `n`, appended to `out`. */
const leb = (n: number, out: number[]): void => {
  do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n);
};

/** A module of nothing but one custom section named `name` holding `payload`. */
const customOnly = (name: string, payload: number[]): Uint8Array => {
  const head: number[] = [];
  leb(name.length, head);
  for (const byte of Buffer.from(name)) head.push(byte);
  const header: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00];
  leb(head.length + payload.length, header);
  return Uint8Array.from(header.concat(head, payload));
};

describe('the name section is bounded', () => {
  /** A module of one `name` section whose subsection `id` names `n` increasing indices, each with an empty name (1) or no local names (2). */
  const namesOnly = (id: number, n: number): Uint8Array => {
    const sub: number[] = [];
    leb(n, sub);
    for (let i = 0; i < n; i++) { leb(i, sub); sub.push(0); }
    const payload: number[] = [id];
    leb(sub.length, payload);
    return customOnly('name', payload.concat(sub));
  };

  it('a name section holding more than its share of maps and entries is dropped as malformed, before they are made', () => {
    // Each entry of local names held a Map: 28 MB of them cost 1.9 GB and 27 s to decode.
    const bytes = namesOnly(2, 500_000);
    assert.equal(WebAssembly.validate(bytes as BufferSource), true);
    const module = decodeModule(bytes);
    assert.equal(module.names, null);
    assert.match(module.customSectionErrors[0]!.reason, /name section names more than/);
  });

  it('function names within the bound are kept', () => {
    const module = decodeModule(namesOnly(1, 1000));
    assert.equal(module.names?.functions.size, 1000);
  });
});

describe('the producers section is bounded', () => {
  /** A module of one `producers` section: `fields` fields of `values` empty name/version pairs each. */
  const producersOnly = (fields: number, values: number): Uint8Array => {
    const body: number[] = [];
    leb(fields, body);
    for (let f = 0; f < fields; f++) {
      body.push(1, 0x61 + (f % 26));
      leb(values, body);
      for (let v = 0; v < values; v++) body.push(0, 0);
    }
    return customOnly('producers', body);
  };

  it('more than 10,000 values in all is dropped as malformed, before they are kept', () => {
    // 10,000 values in each of 1,000 fields (20 MB) held an object each: 483 MB and 12.7 s to decode.
    const bytes = producersOnly(20, 1000);
    assert.equal(WebAssembly.validate(bytes as BufferSource), true);
    const module = decodeModule(bytes);
    assert.equal(module.producers, null);
    assert.match(module.customSectionErrors[0]!.reason, /more than 10000 producers values/);
  });

  it('a section within the bound is kept', () => {
    assert.equal(Object.keys(decodeModule(producersOnly(2, 3)).producers!).length, 2);
  });
});
