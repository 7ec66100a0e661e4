import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { rewriteModule } from '../../src/binary/encode.js';
import { fuelEdits, FUEL_EXPORT } from '../../src/transform/fuel.js';
import { limitEdits } from '../../src/transform/limits.js';
import { defineGrant } from '../../src/wasi/grant.js';
import { runWasi } from '../../src/wasi/run.js';
import { fixture } from '../helpers/paths.js';
import { wat } from '../helpers/wat.js';

describe('limits by rewriting', () => {
  it('memory.grow returns -1 exactly at the limit, and the instance keeps working', async () => {
    const bytes = await wat('(module (memory (export "m") 1) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow) (func (export "poke") (param i32) local.get 0 i32.const 7 i32.store8))');
    const limited = rewriteModule(decodeModule(bytes), limitEdits(decodeModule(bytes), { memoryBytes: 4 * 65536, tableElements: 10 }));
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(limited));
    const grow = exports.grow as (n: number) => number;
    assert.equal(grow(3), 1);
    assert.equal(grow(1), -1);
    (exports.poke as (a: number) => void)(4 * 65536 - 1);
    assert.equal(new Uint8Array((exports.m as WebAssembly.Memory).buffer)[4 * 65536 - 1], 7);
  });

  it('caps tables, and keeps smaller declared maxima', async () => {
    const bytes = await wat('(module (table (export "t") 2 funcref) (memory 1 2) (func (export "grow") (param i32) (result i32) ref.null func local.get 0 table.grow 0))');
    const module = decodeModule(bytes);
    const edits = limitEdits(module, { memoryBytes: 1 << 30, tableElements: 5 });
    assert.equal(edits.memories!.size, 0);
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(rewriteModule(module, edits)));
    const grow = exports.grow as (n: number) => number;
    assert.equal(grow(3), 2);
    assert.equal(grow(1), -1);
  });
});

describe('fuel metering', () => {
  const meter = (bytes: Uint8Array) => new WebAssembly.Module(rewriteModule(decodeModule(bytes), fuelEdits(decodeModule(bytes))));
  const runWith = (module: WebAssembly.Module, budget: bigint, args: string[]) => {
    let left = 0n;
    const result = runWasi(module, defineGrant({ args }), {
      beforeStart: (i) => { (i.exports[FUEL_EXPORT] as WebAssembly.Global).value = budget; },
      afterRun: (i) => { left = (i!.exports[FUEL_EXPORT] as WebAssembly.Global).value as bigint; },
    });
    return { result, used: budget - left };
  };

  for (const [name, args] of [['bench/sha256', ['s', '2']], ['hello', ['h', 'x']]] as const) {
    it(`leaves ${name}'s output unchanged and uses the same fuel every run`, () => {
      const bytes = new Uint8Array(readFileSync(fixture('c', `${name}.wasm`)));
      const plain = runWasi(new WebAssembly.Module(bytes), defineGrant({ args: [...args] }));
      const metered = meter(bytes);
      const a = runWith(metered, 10n ** 15n, [...args]);
      const b = runWith(metered, 10n ** 15n, [...args]);
      assert.deepEqual(a.result.stdout, plain.stdout);
      assert.equal(a.result.exitCode, 0);
      assert.equal(a.used, b.used);
      assert.ok(a.used > 0n);
    });
  }

  it('stops an infinite loop and a runaway recursion when the budget runs out', async () => {
    const spin = meter(await wat('(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))'));
    const r = runWith(spin, 100_000n, ['x']);
    assert.equal(r.result.trap?.kind, 'unreachable');
    assert.ok(r.used > 100_000n);
    const recurse = meter(await wat('(module (memory (export "memory") 1) (func $f (call $f)) (func (export "_start") (call $f)))'));
    assert.equal(runWith(recurse, 1000n, ['x']).result.trap?.kind, 'unreachable');
  });

  it('keeps function indices: exports, start, tables and calls still line up', () => {
    const bytes = new Uint8Array(readFileSync(fixture('c', 'layout_data_first.wasm')));
    const metered = rewriteModule(decodeModule(bytes), fuelEdits(decodeModule(bytes)));
    assert.equal(WebAssembly.validate(metered), true);
    const decoded = decodeModule(metered);
    assert.equal(decoded.functions.length, decodeModule(bytes).functions.length);
    assert.ok(decoded.exports.some((e) => e.name === FUEL_EXPORT && e.kind === 'global'));
  });
});
