import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { FUEL_EXPORT, limitMemory, limitTables, meterFuel, prepareModule } from '../../src/transform/index.js';
import { defineGrant } from '../../src/wasi/grant.js';
import { runWasi } from '../../src/wasi/run.js';
import { fixture } from '../helpers/paths.js';
import { wat, watFixture } from '../helpers/wat.js';

const PAGE = 65536;
const cFixture = (name: string) => new Uint8Array(readFileSync(fixture('c', `${name}.wasm`)));
const instantiate = (bytes: Uint8Array) => new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('limitMemory', () => {
  it('memory.grow returns -1 exactly at the limit, and the instance keeps working', async () => {
    const exports = instantiate(limitMemory(decodeModule(await watFixture('transform-grow')), 4));
    const grow = exports.grow as (pages: number) => number;
    const store = exports.store as (at: number, value: number) => void;
    const load = exports.load as (at: number) => number;
    assert.equal(grow(3), 1);
    assert.equal(grow(1), -1);
    assert.equal((exports.size as () => number)(), 4);
    assert.equal(grow(0), 4);
    store(4 * PAGE - 1, 7);
    assert.equal(load(4 * PAGE - 1), 7);
    assert.throws(() => load(4 * PAGE), WebAssembly.RuntimeError);
    assert.equal((exports.memory as WebAssembly.Memory).buffer.byteLength, 4 * PAGE);
  });

  it('lowers a larger declared maximum, keeps a smaller one, and leaves the input alone', async () => {
    const source = await watFixture('transform-grow');
    const module = decodeModule(source);
    const before = Uint8Array.from(source);
    const twice = decodeModule(limitMemory(module, 8));
    assert.equal(twice.memories[0]!.limits.max, 8);
    assert.equal(decodeModule(limitMemory(twice, 2)).memories[0]!.limits.max, 2);
    assert.equal(limitMemory(twice, 100), twice.bytes, 'a smaller maximum needs no rewrite');
    assert.deepEqual(source, before);
  });

  it('a C program runs out of memory at the limit and recovers, as with a real allocation failure', () => {
    const grant = defineGrant({ args: ['alloc'] });
    const limited = limitMemory(decodeModule(cFixture('transform_alloc')), 16 * 1024 * 1024 / PAGE);
    const result = runWasi(new WebAssembly.Module(limited), grant);
    assert.equal(result.trap, null);
    assert.equal(result.exitCode, 0);
    const fitted = Number(/allocated (\d+) MiB/.exec(text(result.stdout))![1]);
    // 16 MiB minus the program's own static data and stack: some blocks fit, never more than the limit allows.
    assert.ok(fitted >= 10 && fitted < 16, `fitted ${fitted} MiB`);
    assert.match(text(result.stdout), /recovered/);
    assert.ok(result.usage.peakMemoryBytes <= 16 * 1024 * 1024);
  });

  it('refuses nonsense limits', async () => {
    const module = decodeModule(await watFixture('transform-grow'));
    assert.throws(() => limitMemory(module, -1), RangeError);
    assert.throws(() => limitMemory(module, 1.5), RangeError);
  });
});

describe('limitTables', () => {
  it('table.grow returns -1 exactly at the limit', async () => {
    const exports = instantiate(limitTables(decodeModule(await watFixture('transform-grow')), 5));
    const grow = exports.grow_table as (n: number) => number;
    assert.equal(grow(4), 1);
    assert.equal(grow(1), -1);
    assert.equal((exports.table as WebAssembly.Table).length, 5);
  });

  it('combines with the memory limit in prepareModule, and rewrites nothing already within both', async () => {
    const module = decodeModule(await watFixture('transform-grow'));
    const prepared = decodeModule(prepareModule(module, { memoryBytes: 3 * PAGE, tableElements: 2, fuel: false }));
    assert.equal(prepared.memories[0]!.limits.max, 3);
    assert.equal(prepared.tables[0]!.limits.max, 2);
    assert.equal(prepareModule(prepared, { memoryBytes: 3 * PAGE, tableElements: 2, fuel: false }), prepared.bytes);
  });

  it('caps a table whose limits contain the byte 0x40 (64 elements), which is not the initialiser form', async () => {
    const module = decodeModule(await wat('(module (table 64 funcref) (table 64 128 funcref))'));
    const limited = decodeModule(limitTables(module, 300));
    // One budget of 300 for both: the second keeps its own maximum, the first gets the rest.
    assert.deepEqual(limited.tables.map((t) => [t.limits.min, t.limits.max]), [[64, 172], [64, 128]]);
  });
});

describe('meterFuel', () => {
  /** Runs a metered module with `budget`; fuel used is read back from the counter. */
  const runMetered = (metered: WebAssembly.Module, budget: bigint, args: string[]) => {
    let left: bigint | null = null;
    const result = runWasi(metered, defineGrant({ args }), {
      beforeStart: (i) => { (i.exports[FUEL_EXPORT] as WebAssembly.Global).value = budget; },
      afterRun: (i) => { left = i ? (i.exports[FUEL_EXPORT] as WebAssembly.Global).value as bigint : null; },
    });
    return { result, left: left as bigint | null, used: budget - (left ?? 0n) };
  };
  const metered = (bytes: Uint8Array, budget?: bigint) => new WebAssembly.Module(meterFuel(decodeModule(bytes), { budget }));

  for (const [name, args] of [['bench/sha256', ['sha256', '1']], ['bench/compress', ['compress', '1']], ['hello', ['hello', 'x']]] as const) {
    it(`leaves ${name}'s output unchanged and uses the same fuel on every run`, () => {
      const bytes = cFixture(name);
      const plain = runWasi(new WebAssembly.Module(bytes), defineGrant({ args: [...args] }));
      const module = metered(bytes);
      const a = runMetered(module, 10n ** 15n, [...args]);
      const b = runMetered(module, 10n ** 15n, [...args]);
      assert.equal(plain.exitCode, 0);
      assert.equal(a.result.exitCode, 0);
      assert.equal(text(a.result.stdout), text(plain.stdout));
      assert.equal(a.used, b.used);
      assert.ok(a.used > 0n);
    });
  }

  it('charges about one unit per instruction: more work, proportionally more fuel', async () => {
    const module = metered(await watFixture('transform-count'));
    const one = runMetered(module, 10n ** 12n, ['count']).used;
    const three = runMetered(module, 10n ** 12n, ['count', 'b', 'c']).used;
    // Each inner iteration runs about 20 instructions (with the call); 1000 of them per outer one.
    assert.ok(one > 15_000n && one < 40_000n, `one outer iteration used ${one}`);
    const perOuter = (three - one) / 2n;
    assert.ok(perOuter > 15_000n && perOuter < 40_000n && (one - perOuter) < 100n && (one - perOuter) > -100n, `per outer iteration ${perOuter}, first ${one}`);
  });

  it('is exact: the fuel a run uses is enough, one unit less traps, and the trap is told apart by the counter', async () => {
    const module = metered(await watFixture('transform-count'));
    const { used, result } = runMetered(module, 10n ** 12n, ['count', 'b']);
    assert.equal(result.trap, null);
    const enough = runMetered(module, used, ['count', 'b']);
    assert.equal(enough.result.trap, null);
    assert.equal(enough.left, 0n);
    const short = runMetered(module, used - 1n, ['count', 'b']);
    assert.equal(short.result.trap?.kind, 'unreachable');
    assert.ok(short.left! < 0n, 'a fuel trap leaves the counter negative');
    assert.equal(runMetered(module, used - 1n, ['count', 'b']).left, short.left, 'the same run stops at the same point');
  });

  it('stops an infinite loop and a runaway recursion deterministically', async () => {
    const spin = metered(await watFixture('wasi-spin'));
    const first = runMetered(spin, 100_000n, ['spin']);
    const second = runMetered(spin, 100_000n, ['spin']);
    assert.equal(first.result.trap?.kind, 'unreachable');
    assert.ok(first.left! < 0n);
    assert.equal(first.left, second.left);
    const recurse = metered(await watFixture('hostile-recurse'));
    const r = runMetered(recurse, 1000n, ['recurse']);
    assert.equal(r.result.trap?.kind, 'unreachable');
    assert.ok(r.left! < 0n);
  });

  it('meters a start function from a budget given at rewrite time', async () => {
    const source = await watFixture('transform-start');
    const withBudget = runWasi(metered(source, 10_000n), defineGrant({ args: ['start'] }));
    assert.equal(withBudget.trap, null);
    assert.equal(withBudget.exitCode, 45);
    // Without a budget the counter starts at 0, so the start function, which runs before any host code, traps.
    const withoutBudget = runWasi(metered(source), defineGrant({ args: ['start'] }));
    assert.equal(withoutBudget.trap?.kind, 'unreachable');
    // Too small a budget stops the start function itself.
    assert.equal(runWasi(metered(source, 20n), defineGrant({ args: ['start'] })).trap?.kind, 'unreachable');
  });

  it('keeps function indices: exports, start, tables and calls still line up', () => {
    const bytes = cFixture('layout_data_first');
    const original = decodeModule(bytes);
    const rewritten = meterFuel(original);
    assert.equal(WebAssembly.validate(rewritten), true);
    const decoded = decodeModule(rewritten);
    assert.equal(decoded.functions.length, original.functions.length);
    assert.equal(decoded.imports.length, original.imports.length);
    for (const e of original.exports) assert.ok(decoded.exports.some((d) => d.name === e.name && d.index === e.index && d.kind === e.kind));
    const counter = decoded.exports.find((e) => e.name === FUEL_EXPORT)!;
    assert.equal(counter.kind, 'global');
    assert.equal(counter.index, original.importedGlobalCount + original.globals.length);
  });

  it('refuses a budget the counter cannot hold', async () => {
    const module = decodeModule(await watFixture('transform-grow'));
    assert.throws(() => meterFuel(module, { budget: -1n }), RangeError);
    assert.throws(() => meterFuel(module, { budget: 2n ** 63n }), RangeError);
  });
});
