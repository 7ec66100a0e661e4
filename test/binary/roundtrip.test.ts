import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { encodeFunctionBody, encodeModule, rewriteModule } from '../../src/binary/encode.js';
import { decodeInstructions, forEachInstruction } from '../../src/binary/instructions.js';
import { wat } from '../helpers/wat.js';
import { largeModulePaths, smallCorpus } from './corpus.js';

describe('re-encoding', async () => {
  const corpus = await smallCorpus();

  it('has a corpus of real modules', () => assert.ok(corpus.length >= 2));

  for (const { name, bytes } of corpus) {
    it(`re-encodes ${name} byte-identically, and validate agrees with decode`, () => {
      const valid = WebAssembly.validate(bytes);
      if (!valid) return; // invalid-by-design fixtures are exercised elsewhere
      const module = decodeModule(bytes);
      assert.deepEqual(encodeModule(module), bytes);
    });
  }

  for (const path of largeModulePaths) {
    it(`decodes and re-encodes ${path.split('/').pop()} byte-identically`, () => {
      const bytes = new Uint8Array(readFileSync(path));
      assert.equal(WebAssembly.validate(bytes), true);
      const module = decodeModule(bytes);
      assert.ok(module.code.length > 1000);
      assert.deepEqual(Buffer.compare(encodeModule(module), bytes), 0);
    });
  }
});

describe('rewriting', () => {
  it('replaces a function body and the result runs', async () => {
    const bytes = await wat('(module (func (export "f") (result i32) i32.const 1))');
    const module = decodeModule(bytes);
    const code = Uint8Array.of(0x41, 42, 0x0b); // i32.const 42; end
    const out = rewriteModule(module, { bodies: new Map([[0, encodeFunctionBody([], code)]]) });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(out));
    assert.equal((exports.f as () => number)(), 42);
  });

  it('appends types, globals, functions and exports with stable indices', async () => {
    const bytes = await wat('(module (func (export "f") (result i32) i32.const 1))');
    const module = decodeModule(bytes);
    const out = rewriteModule(module, {
      addTypes: [{ params: ['i32'], results: ['i32'] }],
      addGlobals: [{ type: { valType: 'i32', mutable: true }, init: Uint8Array.of(0x41, 5, 0x0b) }],
      addFunctions: [{ typeIndex: 1, body: encodeFunctionBody([], Uint8Array.of(0x20, 0, 0x23, 0, 0x6a, 0x0b)) }],
      addExports: [{ name: 'addg', kind: 'func', index: 1 }, { name: 'g', kind: 'global', index: 0 }],
    });
    const decoded = decodeModule(out);
    assert.equal(decoded.functions.length, 2);
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(out));
    assert.equal((exports.f as () => number)(), 1);
    assert.equal((exports.addg as (x: number) => number)(10), 15);
    assert.equal((exports.g as WebAssembly.Global).value, 5);
  });

  it('inserts sections the module lacked in canonical order', async () => {
    const bytes = await wat('(module)');
    const module = decodeModule(bytes);
    const out = rewriteModule(module, {
      addTypes: [{ params: [], results: ['i32'] }],
      addFunctions: [{ typeIndex: 0, body: encodeFunctionBody([], Uint8Array.of(0x41, 7, 0x0b)) }],
      addExports: [{ name: 'seven', kind: 'func', index: 0 }],
    });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(out));
    assert.equal((exports.seven as () => number)(), 7);
  });

  it('rewrites a memory maximum so memory.grow fails exactly at the limit', async () => {
    const bytes = await wat('(module (memory (export "m") 1) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))');
    const module = decodeModule(bytes);
    const out = rewriteModule(module, { memories: new Map([[0, { limits: { min: 1, max: 3, shared: false, is64: false } }]]) });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(out));
    const grow = exports.grow as (n: number) => number;
    assert.equal(grow(2), 1);
    assert.equal(grow(1), -1);
    assert.equal(grow(0), 3);
  });

  it('decodeInstructions returns independent copies that tile the body', async () => {
    const bytes = await wat('(module (memory 1) (func (result i32) i32.const 0 i32.load offset=4 i32.const 0 i32.load offset=8 i32.add))');
    const module = decodeModule(bytes);
    const ins = decodeInstructions(module, 0);
    assert.deepEqual(ins.filter((i) => i.memArg).map((i) => i.memArg!.offset), [4, 8]);
    let n = 0;
    forEachInstruction(module, 0, () => { n++; });
    assert.equal(n, ins.length);
  });
});
