// The decoder against V8 (`WebAssembly.validate` and its type reflection) on
// generated modules, their mutations and mutations of the corpus: whatever V8
// accepts, the decoder accepts and reads the same way, except the classes
// listed in differential.ts (and docs/RATIONALE.md). Seeded and bounded for
// `npm test`; `npm run fuzz` runs the same comparison for longer.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeModule } from '../../src/binary/decode.js';
import { WasmDecodeError } from '../../src/binary/errors.js';
import { body, FUNC_TYPE_VOID, moduleOf, name, section, vector } from '../helpers/module-builder.js';
import { wat } from '../helpers/wat.js';
import { smallCorpus } from './corpus.js';
import { DELIBERATELY_STRICTER, compareWithV8, reflectDecoded, reflectV8 } from './differential.js';
import { generateModule } from './generate.js';
import { mutations } from './mutate.js';

const agrees = (bytes: Uint8Array) => {
  const mismatch = compareWithV8(bytes);
  assert.equal(mismatch, null, `${mismatch?.detail}\nmodule: ${Buffer.from(bytes).toString('hex').slice(0, 2000)}`);
};

describe('the decoder and V8 read modules alike', () => {
  it('on a module with every kind of import and export, types included', async () => {
    const bytes = await wat(`(module
      (import "m" "f" (func (param i32 v128) (result externref)))
      (import "m" "t" (table 1 funcref))
      (import "m" "g" (global (mut i64)))
      (import "m" "e" (tag (param i32)))
      (func (export "f2") (param f32 funcref) (result f64 i32) f64.const 0 i32.const 0)
      (table (export "t2") 2 10 externref)
      (memory (export "mem") 1 3)
      (global (export "g2") v128 (v128.const i32x4 1 2 3 4))
      (tag (export "e2") (param i64)))`);
    const module = decodeModule(bytes);
    const ours = reflectDecoded(module);
    assert.deepEqual(JSON.parse(JSON.stringify(ours)), JSON.parse(JSON.stringify(reflectV8(new WebAssembly.Module(bytes), []))));
    assert.deepEqual(ours.exports[0], { name: 'f2', kind: 'function', type: { parameters: ['f32', 'funcref'], results: ['f64', 'i32'] } });
    agrees(bytes);
    // The comparison sees a difference when there is one.
    module.exports[0]!.name = 'renamed';
    assert.notDeepEqual(JSON.parse(JSON.stringify(reflectDecoded(module))), JSON.parse(JSON.stringify(reflectV8(new WebAssembly.Module(bytes), []))));
  });

  it('on generated modules (every section, segment form, import kind; nested try/catch/delegate, branches)', () => {
    let accepted = 0;
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
      const bytes = generateModule(seed);
      if (WebAssembly.validate(bytes)) accepted++;
      agrees(bytes);
    }), { seed: 42, numRuns: 1500 });
    // Not vacuous: a good share of what is generated is valid, so the structure is compared.
    assert.ok(accepted >= 300, `V8 accepted only ${accepted} of 1500 generated modules`);
  });

  it('on mutations of generated modules', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), mutations(), fc.integer({ min: 1, max: 3 }), (seed, mutate, times) => {
      let bytes = generateModule(seed);
      for (let i = 0; i < times; i++) bytes = mutate(bytes);
      agrees(bytes);
    }), { seed: 43, numRuns: 1500 });
  });

  it('on mutations of the corpus', async () => {
    const corpus = (await smallCorpus()).filter((m) => m.bytes.length < 200_000 && WebAssembly.validate(m.bytes));
    for (const m of corpus) agrees(m.bytes);
    fc.assert(fc.property(fc.constantFrom(...corpus), mutations(), ({ bytes }, mutate) => agrees(mutate(bytes))), { seed: 44, numRuns: 1000 });
  });
});

describe('where the decoder is deliberately stricter than V8', () => {
  const long = 'x'.repeat(100_001);
  const examples: Record<string, Uint8Array> = {
    'names over 100,000 bytes': moduleOf(section(0, name(long))),
    'nesting over 10,000 blocks': moduleOf(section(1, vector([FUNC_TYPE_VOID])), section(3, vector([[0]])),
      section(10, vector([body([...new Array(10_001).fill([0x02, 0x40]).flat(), ...new Array(10_001).fill(0x0b)])]))),
  };

  for (const { name: what, reason } of DELIBERATELY_STRICTER) {
    it(`${what}: V8 accepts, the decoder refuses with the listed reason`, () => {
      const bytes = examples[what];
      assert.ok(bytes, `no example for ${what}`);
      assert.equal(WebAssembly.validate(bytes), true);
      assert.throws(() => decodeModule(bytes), (error: unknown) => error instanceof WasmDecodeError && reason.test(error.reason));
      assert.equal(compareWithV8(bytes), null);
    });
  }
});
