// The rewriter inserts an import, so every defined function moves up by one:
// these tests check that the rewritten module means exactly what the original
// meant, on generated modules (imports, tables, element segments in every
// encoding, ref.func, start functions, names), on the C fixtures and on real
// modules from npm.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeModule } from '../../src/binary/decode.js';
import { CHECKPOINT_MODULE, CHECKPOINT_NAME, FUEL_EXPORT, originalFunctionIndex, START_EXPORT, prepareModule, rewriteForRun, type TransformOptions } from '../../src/transform/index.js';
import { defineGrant } from '../../src/wasi/grant.js';
import { createWasiHost, runWasi } from '../../src/wasi/run.js';
import { fixture } from '../helpers/paths.js';
import { wat } from '../helpers/wat.js';

const GiB = 1024 * 1024 * 1024;
const variants: Record<string, Omit<TransformOptions, 'memoryBytes' | 'tableElements'>> = {
  checkpoint: { fuel: false, checkpoint: true },
  fuel: { fuel: true, fuelBudget: 10n ** 15n },
  'fuel + checkpoint': { fuel: true, fuelBudget: 10n ** 15n, checkpoint: true },
  limits: { fuel: false },
};
const rewrite = (bytes: Uint8Array, variant: Omit<TransformOptions, 'memoryBytes' | 'tableElements'>) =>
  prepareModule(decodeModule(bytes), { memoryBytes: 16 * 65536, tableElements: 1000, ...variant });

interface Shape {
  imports: number;
  defined: number;
  /** Per element slot, the function it holds (index into the function space). */
  active: number[];
  passive: number[];
  expressions: boolean;
  explicitTable: boolean;
  globalRef: number;
  start: number | null;
  /** Export a `_start` (which the rewriter then wraps to run the start function first). */
  command: boolean;
  tail: boolean;
}

/** A module of the given shape; every function returns a number that says which function it is. */
function moduleOf(s: Shape): string {
  const total = s.imports + s.defined;
  const funcs: string[] = [];
  for (let i = 0; i < s.imports; i++) funcs.push(`(import "env" "f${i}" (func $f${i} (result i32)))`);
  for (let i = s.imports; i < total; i++) {
    // Each defined function adds a call to its neighbour below (or a tail call), so calls are renumbered too.
    const below = i > 0 ? (s.tail && i % 2 ? `(return_call $f${i - 1})` : `(i32.add (i32.const ${1000 * i}) (call $f${i - 1}))`) : `(i32.const 7)`;
    funcs.push(`(func $f${i} (result i32) (global.set $last (i32.const ${i})) ${below})`);
  }
  const list = (slots: number[]) => slots.map((f) => (s.expressions ? `(ref.func $f${f})` : `$f${f}`)).join(' ');
  const elemKind = s.expressions ? 'funcref' : 'func';
  const table = s.explicitTable ? '(table $t)' : '';
  return `(module
    ${funcs.join('\n    ')}
    (type $r (func (result i32)))
    (table $t ${Math.max(s.active.length + s.passive.length, 1)} funcref)
    (memory (export "memory") 1)
    (global $last (mut i32) (i32.const -1))
    (global $ref funcref (ref.func $f${s.globalRef}))
    (elem ${table} (i32.const 0) ${elemKind} ${list(s.active)})
    (elem $p ${elemKind} ${list(s.passive)})
    (elem declare func $f${s.globalRef})
    ${s.start === null ? '' : `(func $init (global.set $last (i32.add (global.get $last) (call $f${s.start})))) (start $init)`}
    (func (export "slot") (param i32) (result i32) (call_indirect (type $r) (local.get 0)))
    (func (export "load_passive") (table.init $t $p (i32.const ${s.active.length}) (i32.const 0) (i32.const ${s.passive.length})))
    (func (export "via_global") (result i32) (table.set $t (i32.const 0) (global.get $ref)) (call_indirect (type $r) (i32.const 0)))
    (func (export "last") (result i32) (global.get $last))
    ${s.command ? '(func (export "_start") (global.set $last (i32.mul (global.get $last) (i32.const 3))))' : ''}
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    ${Array.from({ length: total }, (_, i) => `(export "e${i}" (func $f${i}))`).join(' ')}
  )`;
}

/** Everything the module computes, by calling every export and every table slot. */
function observe(bytes: Uint8Array, shape: Shape): unknown {
  const envImports: Record<string, () => number> = {};
  for (let i = 0; i < shape.imports; i++) envImports[`f${i}`] = () => 100 + i;
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: envImports, [CHECKPOINT_MODULE]: { [CHECKPOINT_NAME]: () => {} },
  }).exports as Record<string, (...args: number[]) => number>;
  // A command's host calls _start right after instantiation; the start function has run by then.
  if (shape.command) exports._start!();
  // Any other entry: the host calls a start function the rewriter moved out of instantiation first (wasi/run.ts).
  else exports[START_EXPORT]?.();
  const seen: Record<string, unknown> = { afterStart: exports.last!() };
  for (let i = 0; i < shape.imports + shape.defined; i++) seen[`e${i}`] = [exports[`e${i}`]!(), exports.last!()];
  exports.load_passive!();
  const slots = shape.active.length + shape.passive.length;
  seen.slots = Array.from({ length: slots }, (_, i) => exports.slot!(i));
  seen.grow = [exports.grow!(2), exports.grow!(0)];
  seen.viaGlobal = exports.via_global!();
  seen.exports = Object.keys(exports).filter((name) => name !== FUEL_EXPORT && name !== START_EXPORT);
  return seen;
}

const shapes = fc.record({ imports: fc.integer({ min: 0, max: 3 }), defined: fc.integer({ min: 1, max: 6 }) }).chain(({ imports, defined }) => {
  const func = fc.integer({ min: 0, max: imports + defined - 1 });
  return fc.record({
    imports: fc.constant(imports), defined: fc.constant(defined),
    active: fc.array(func, { minLength: 1, maxLength: 6 }), passive: fc.array(func, { minLength: 1, maxLength: 4 }),
    expressions: fc.boolean(), explicitTable: fc.boolean(), globalRef: func,
    start: fc.option(func, { nil: null }), command: fc.boolean(), tail: fc.boolean(),
  });
});

describe('renumbering after the inserted checkpoint import', () => {
  it('generated modules compute the same under every rewrite (imports, tables, element segments, ref.func, start, tail calls)', async () => {
    await fc.assert(fc.asyncProperty(shapes, async (shape) => {
      const source = moduleOf(shape);
      const bytes = await wat(source);
      assert.ok(WebAssembly.validate(bytes as BufferSource), source);
      const expected = observe(bytes, shape);
      for (const [name, variant] of Object.entries(variants)) {
        const rewritten = rewrite(bytes, variant);
        assert.ok(WebAssembly.validate(rewritten as BufferSource), `${name}: ${source}`);
        assert.deepEqual(observe(rewritten, shape), expected, `${name}: ${source}`);
      }
    }), { numRuns: 60, seed: 8 });
  });

  it('keeps the name section pointing at the same functions and locals', async () => {
    const bytes = await wat(`(module (import "env" "imported" (func $imported))
      (func $first (param $a i32) (local $b i32)) (func $second (param $c i32)) (func (export "_start") (call $second (i32.const 1))))`, { names: true });
    const before = decodeModule(bytes).names!;
    const after = decodeModule(rewrite(bytes, variants['fuel + checkpoint']!)).names!;
    assert.equal(after.functions.get(0), 'imported', 'imports keep their indices');
    assert.equal(after.functions.get(1), undefined, 'the checkpoint import has no name');
    assert.equal(after.functions.get(2), before.functions.get(1));
    assert.equal(after.functions.get(3), before.functions.get(2));
    assert.deepEqual(after.locals.get(2), before.locals.get(1));
    assert.deepEqual(after.locals.get(3), before.locals.get(2));
  });

  it('maps a function of the rewritten module back to its index as shipped, for trap frames', async () => {
    const bytes = await wat(`(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
      (memory (export "memory") 1) (func $a) (func $boom unreachable) (func $init) (start $init)
      (func (export "_start") (call $a) (call $boom)))`);
    const { bytes: rewritten, injected } = rewriteForRun(decodeModule(bytes), { memoryBytes: 65536, tableElements: 10, fuel: false, checkpoint: true });
    assert.deepEqual(injected, { checkpoint: 1, startWrapper: 6 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(rewritten as BufferSource), {
      wasi_snapshot_preview1: { proc_exit: () => {} }, [CHECKPOINT_MODULE]: { [CHECKPOINT_NAME]: () => {} },
    });
    const error = (() => { try { (instance.exports._start as () => void)(); } catch (e) { return e as Error; } return null; })();
    const trapped = Number(/wasm-function\[(\d+)\]/.exec(error!.stack!)![1]);
    assert.equal(originalFunctionIndex(trapped, injected), 2, '$boom is function 2 as shipped');
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((f) => originalFunctionIndex(f, injected)), [0, null, 1, 2, 3, 4, null]);
  });

  it('keeps a table initialiser (0x40 0x00 form) and renumbers the function it names', async () => {
    const bytes = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
      1, 4, 1, 0x60, 0, 0, // type: [] -> []
      3, 2, 1, 0, // one function of type 0
      4, 9, 1, 0x40, 0x00, 0x70, 0x00, 0x01, 0xd2, 0x00, 0x0b, // table 1 funcref (ref.func 0)
      10, 4, 1, 2, 0, 0x0b); // body: end
    const module = decodeModule(bytes);
    assert.deepEqual(module.tables[0]!.init!.value, { kind: 'ref.func', index: 0 });
    for (const variant of [variants.checkpoint!, variants['fuel + checkpoint']!]) {
      const rewritten = decodeModule(rewrite(bytes, variant));
      assert.deepEqual(rewritten.tables[0]!.init!.value, { kind: 'ref.func', index: 1 }, 'function 0 is function 1 after the checkpoint import');
      assert.equal(rewritten.tables[0]!.limits.max, 1000);
    }
  });

  it('elements written as plain indices with an explicit table (flags 2) and declarative ones (flags 3) are renumbered', async () => {
    // flags 2 and 3 with the legacy element kind byte, written by hand: wabt chooses other encodings.
    const bytes = await wat(`(module (type $r (func (result i32)))
      (func $a (result i32) (i32.const 1)) (func $b (result i32) (i32.const 2))
      (table $t0 1 funcref) (table $t1 2 funcref)
      (elem (table $t1) (i32.const 0) func $b $a)
      (elem declare func $b)
      (func (export "pick") (param i32) (result i32) (call_indirect $t1 (type $r) (local.get 0)))
      (func (export "ref") (result i32) (ref.is_null (ref.func $b))))`);
    const flags = decodeModule(bytes).elements.map((e) => e.mode.kind);
    assert.deepEqual(flags, ['active', 'declarative']);
    const run = (b: Uint8Array) => {
      const e = new WebAssembly.Instance(new WebAssembly.Module(b as BufferSource), { [CHECKPOINT_MODULE]: { [CHECKPOINT_NAME]: () => {} } }).exports as Record<string, (...a: number[]) => number>;
      return [e.pick!(0), e.pick!(1), e.ref!()];
    };
    assert.deepEqual(run(rewrite(bytes, variants.checkpoint!)), run(bytes));
    assert.deepEqual(run(bytes), [2, 1, 0]);
  });
});

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const cFixture = (...path: string[]) => new Uint8Array(readFileSync(fixture('c', ...path)));

describe('differential: C fixtures and real modules', () => {
  const programs: Array<[string, Uint8Array, string[]]> = [
    ['hello', cFixture('hello.wasm'), ['hello', 'there']],
    ['alloc', cFixture('transform_alloc.wasm'), ['alloc']],
    ['sha256', cFixture('bench', 'sha256.wasm'), ['sha256', '1']],
    ['compress', cFixture('bench', 'compress.wasm'), ['compress', '1']],
    ['basics', cFixture('wasi', 'basics.wasm'), ['basics', '3']],
  ];
  for (const [name, bytes, args] of programs) {
    it(`${name} runs the same under every rewrite`, () => {
      const grant = defineGrant({ args, env: [['A', 'b']], random: { kind: 'seeded', seed: 1 }, clock: { kind: 'frozen' } });
      const host = createWasiHost();
      // The baseline has the same memory limit (alloc's output depends on it); the others add code rewrites.
      const limited = (options: Omit<TransformOptions, 'memoryBytes' | 'tableElements'>) =>
        prepareModule(decodeModule(bytes), { memoryBytes: 64 * 1024 * 1024, tableElements: 1000, ...options });
      const plain = runWasi(new WebAssembly.Module(limited(variants.limits!) as BufferSource), grant, { host });
      assert.equal(plain.trap, null);
      for (const [variant, options] of Object.entries(variants)) {
        const result = runWasi(new WebAssembly.Module(limited(options) as BufferSource), grant, { host });
        assert.equal(result.exitCode, plain.exitCode, `${name}, ${variant}: ${JSON.stringify(result.trap)}`);
        assert.equal(text(result.stdout), text(plain.stdout), `${name}, ${variant}`);
        assert.equal(text(result.stderr), text(plain.stderr), `${name}, ${variant}`);
      }
    });
  }

  const npmModules: Array<[string, string]> = [
    ['esbuild-wasm', 'node_modules/esbuild-wasm/esbuild.wasm'],
    ['resvg', 'node_modules/@resvg/resvg-wasm/index_bg.wasm'],
    ['yosys', 'node_modules/@yowasp/yosys/gen/yosys.core.wasm'],
  ];
  for (const [name, path] of npmModules) {
    it(`${name}: every rewrite validates, instantiates with the same exports, and keeps its imports plus the checkpoint`, { timeout: 300_000 }, () => {
      const bytes = new Uint8Array(readFileSync(new URL(`../../../${path}`, import.meta.url)));
      const module = decodeModule(bytes, { validateBodies: false });
      const original = new WebAssembly.Module(bytes as BufferSource);
      const stubs = (m: WebAssembly.Module): WebAssembly.Imports => {
        const imports: Record<string, Record<string, () => void>> = {};
        for (const i of WebAssembly.Module.imports(m)) (imports[i.module] ??= {})[i.name] = () => { throw new Error(`${i.module}.${i.name} called`); };
        return imports;
      };
      const options = { memoryBytes: GiB, tableElements: 10_000_000, fuel: true, fuelBudget: 10n ** 15n, checkpoint: true };
      const rewritten = prepareModule(module, options);
      assert.ok(WebAssembly.validate(rewritten as BufferSource));
      const compiled = new WebAssembly.Module(rewritten as BufferSource);
      assert.deepEqual(WebAssembly.Module.imports(compiled), [...WebAssembly.Module.imports(original), { module: CHECKPOINT_MODULE, name: CHECKPOINT_NAME, kind: 'function' }]);
      assert.deepEqual(WebAssembly.Module.exports(compiled).filter((e) => e.name !== FUEL_EXPORT && e.name !== START_EXPORT), WebAssembly.Module.exports(original));
      // Instantiation runs active segments (and would run a start function): with the rewrite, it must succeed alike.
      new WebAssembly.Instance(compiled, stubs(compiled));
    });
  }

  it('yosys, a real WASI command, prints the same version under the fuel and checkpoint rewrite', { timeout: 300_000 }, () => {
    const bytes = new Uint8Array(readFileSync(new URL('../../../node_modules/@yowasp/yosys/gen/yosys.core.wasm', import.meta.url)));
    const grant = defineGrant({ args: ['yosys', '-V'], clock: { kind: 'frozen' } });
    const plain = runWasi(new WebAssembly.Module(bytes as BufferSource), grant);
    const rewritten = prepareModule(decodeModule(bytes, { validateBodies: false }), { memoryBytes: GiB, tableElements: 10_000_000, fuel: true, fuelBudget: 10n ** 15n, checkpoint: true });
    const result = runWasi(new WebAssembly.Module(rewritten as BufferSource), grant);
    assert.equal(result.exitCode, plain.exitCode, JSON.stringify(result.trap));
    assert.match(text(plain.stdout), /Yosys/);
    assert.equal(text(result.stdout), text(plain.stdout));
  });
});
