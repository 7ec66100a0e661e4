// imports.unknown: refuse (default), trap, zero; recorded in the result.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { AdmissionError } from '../../src/sandbox/prepare.js';
import { compiledStubCount, wasmStub } from '../../src/sandbox/wasm-stub.js';
import { fixture } from '../helpers/paths.js';
import { wat } from '../helpers/wat.js';

const bench = new Uint8Array(readFileSync(fixture('c', 'plugins', 'sightglass-bench.wasm')));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

for (const isolation of ['none', 'thread', 'process'] as const) {
  describe(`unknown imports, ${isolation} isolation`, () => {
    it('refuses them by default', async () => {
      const sandbox = await createSandbox({ isolation });
      try {
        await assert.rejects(sandbox.run(bench), (e: unknown) => e instanceof AdmissionError && e.violations.every((v) => v.rule === 'import-unknown-module'));
      } finally {
        await sandbox.close();
      }
    });

    it('zero: a sightglass-style benchmark runs, bench.start/bench.end doing nothing, counted', async () => {
      const sandbox = await createSandbox({ isolation, imports: { unknown: 'zero' } });
      try {
        const r = await sandbox.run(bench);
        assert.equal(r.exitCode, 0, JSON.stringify(r.trap));
        assert.equal(text(r.stdout), 'sum of squares 1..1000 = 333833500\n');
        assert.deepEqual(r.unknownImports, { mode: 'zero', imports: ['bench.start', 'bench.end'] });
        assert.deepEqual(r.hostCalls, { 'bench.start': 1, 'bench.end': 1 });
      } finally {
        await sandbox.close();
      }
    });

    it('trap: the first call ends the run with kind unknown-import', async () => {
      const sandbox = await createSandbox({ isolation, imports: { unknown: 'trap' } });
      try {
        const r = await sandbox.run(bench);
        assert.equal(r.exitCode, null);
        assert.equal(r.trap?.kind, 'unknown-import');
        assert.match(r.trap!.message, /bench\.start/);
      } finally {
        await sandbox.close();
      }
    });
  });
}

describe('zero stubs return typed zeros', () => {
  it('i32, i64, f32 and f64 results are 0, never NaN or a TypeError', async () => {
    const module = await wat(`(module
      (import "h" "i" (func $i (result i32)))
      (import "h" "l" (func $l (result i64)))
      (import "h" "f" (func $f (result f32)))
      (import "h" "d" (func $d (result f64)))
      (func (export "all") (result i32 i64 f32 f64) (call $i) (call $l) (call $f) (call $d)))`);
    const sandbox = await createSandbox({ isolation: 'none', imports: { unknown: 'zero' } });
    try {
      assert.deepEqual((await sandbox.invoke(module, 'all')).results, [0, 0n, 0, 0]);
    } finally {
      await sandbox.close();
    }
  });

  it('a v128 parameter or result: zero returns a zero vector and trap traps as unknown-import, in every isolation', async () => {
    // A JS function cannot stand for an import with a v128 in its signature: V8 threw a TypeError at the call,
    // and the run ended as a trap of kind other, in both modes.
    const module = await wat(`(module
      (import "h" "vec" (func $vec (param v128 i32) (result v128 i64)))
      (func (export "lanes") (result i64 i64)
        (call $vec (v128.const i64x2 7 9) (i32.const 1))
        drop
        i64x2.extract_lane 0
        (call $vec (v128.const i64x2 7 9) (i32.const 2))
        drop
        i64x2.extract_lane 1))`);
    for (const isolation of ['none', 'thread', 'process'] as const) {
      const zero = await createSandbox({ isolation, imports: { unknown: 'zero' } });
      try {
        const r = await zero.invoke(module, 'lanes');
        assert.deepEqual(r.results, [0n, 0n], `${isolation}: ${JSON.stringify(r.trap)}`);
        assert.deepEqual(r.hostCalls, { 'h.vec': 2 }, isolation);
      } finally {
        await zero.close();
      }
      const trap = await createSandbox({ isolation, imports: { unknown: 'trap' } });
      try {
        const r = await trap.invoke(module, 'lanes');
        assert.equal(r.trap?.kind, 'unknown-import', `${isolation}: ${JSON.stringify(r.trap)}`);
        assert.match(r.trap!.message, /h\.vec/);
      } finally {
        await trap.close();
      }
    }
  });

  it('keeps a bounded number of compiled v128 stubs however many signatures guests bring', () => {
    // Signatures are the guest's; a pool worker links module after module for its whole life.
    let calls = 0;
    for (let n = 0; n < 300; n++) {
      const params = ['v128', ...Array.from({ length: n % 20 }, () => 'i32'), ...Array.from({ length: Math.floor(n / 20) }, () => 'f64')];
      const stub = wasmStub(params, ['v128'], () => { calls++; });
      assert.equal(typeof stub, 'function');
    }
    assert.ok(compiledStubCount() <= 256, String(compiledStubCount()));
    assert.equal(calls, 0);
  });

  it('never replaces a WASI function or a grant: preview1 names the policy does not grant stay refused', async () => {
    const module = await wat(`(module (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32))) (func (export "_start")))`);
    const sandbox = await createSandbox({ isolation: 'none', imports: { unknown: 'zero' } });
    try {
      await assert.rejects(sandbox.run(module), (e: unknown) => e instanceof AdmissionError && e.violations[0]!.rule === 'import-not-granted');
    } finally {
      await sandbox.close();
    }
  });
});

describe('stub names are the guest\'s, never the host\'s objects', () => {
  // A module named `__proto__` or `constructor` indexed a plain object of imports: the stubs landed
  // on Object.prototype and Object of the thread that linked them (the embedder's, in "none").
  const planting = wat(`(module
    (import "__proto__" "wardenPlanted" (func $proto (result i32)))
    (import "constructor" "wardenPlanted" (func $object (result i32)))
    (func (export "go") (result i32) (i32.add (call $proto) (call $object))))`);
  // Object.prototype.then makes every object a thenable that never settles: an isolate's own awaits stall.
  const thenable = wat(`(module
    (import "__proto__" "then" (func $then (result i32)))
    (import "constructor" "keys" (func $keys (result i32)))
    (func (export "go") (result i32) (i32.add (call $then) (call $keys))))`);
  const plain = wat(`(module (func (export "go") (result i32) (i32.const 5)))`);

  it('in the embedder\'s thread (none): Object.prototype and Object are untouched, and the stubs are linked and counted', async () => {
    const sandbox = await createSandbox({ isolation: 'none', imports: { unknown: 'zero' }, limits: { timeout: '5s' } });
    const proto = Object.prototype as unknown as Record<string, unknown>;
    const object = Object as unknown as Record<string, unknown>;
    let planted: unknown[] = [];
    let r;
    try {
      r = await sandbox.invoke(await planting, 'go');
    } finally {
      await sandbox.close();
      // Taken away again at once, so that the rest of this process runs on clean objects.
      planted = [typeof proto.wardenPlanted, typeof object.wardenPlanted];
      delete proto.wardenPlanted;
      delete object.wardenPlanted;
    }
    assert.deepEqual(planted, ['undefined', 'undefined'], 'stubs planted on Object.prototype or Object');
    assert.equal(r.exitCode, 0, JSON.stringify(r.trap));
    assert.deepEqual(r.results, [0]);
    assert.deepEqual(r.hostCalls, { '__proto__.wardenPlanted': 1, 'constructor.wardenPlanted': 1 });
  });

  for (const isolation of ['thread', 'process'] as const) {
    it(`in a ${isolation} isolate: Object.prototype.then and Object.keys named as imports; the next run on the same isolate is served`, async () => {
      const sandbox = await createSandbox({ isolation, imports: { unknown: 'zero' }, limits: { timeout: '5s', concurrency: 1 } });
      try {
        for (let i = 0; i < 2; i++) {
          const r = await sandbox.invoke(await thenable, 'go');
          assert.equal(r.exitCode, 0, JSON.stringify(r.trap));
          assert.deepEqual(r.hostCalls, { '__proto__.then': 1, 'constructor.keys': 1 });
          const next = await sandbox.invoke(await plain, 'go');
          assert.equal(next.exitCode, 0, JSON.stringify(next.trap));
          assert.deepEqual(next.results, [5]);
        }
      } finally {
        await sandbox.close();
      }
    });
  }
});

describe('stubs beside the Extism kernel', () => {
  // A plugin built for a newer kernel imports a function this one does not have: under imports.unknown it
  // gets a stub like any other unknown import. The kernel's functions replaced the whole import module, so
  // the stub was dropped and the plugin refused at link time.
  const newer = wat(`(module
    (import "extism:host/env" "input_length" (func $len (result i64)))
    (import "extism:host/env" "newer_than_this_kernel" (func $newer (param i64) (result i64)))
    (func (export "go") (result i32) (i32.wrap_i64 (i64.add (call $newer (call $len)) (call $len)))))`);

  for (const isolation of ['none', 'thread', 'process'] as const) {
    it(`link in a plugin call and a session, ${isolation} isolation`, async () => {
      const sandbox = await createSandbox({ isolation, imports: { unknown: 'zero' }, limits: { timeout: '5s' } });
      try {
        const r = await sandbox.callPlugin(await newer, 'go', 'abc');
        assert.equal(r.trap, null);
        assert.equal(r.plugin.rc, 3);
        assert.deepEqual(r.hostCalls, { 'extism:host/env.newer_than_this_kernel': 1 });
        const session = await sandbox.plugin(await newer);
        try {
          const s = await session.call('go', 'abcd');
          assert.equal(s.trap, null);
          assert.equal(s.plugin.rc, 4);
          assert.deepEqual(s.hostCalls, { 'extism:host/env.newer_than_this_kernel': 1 });
        } finally {
          await session.close();
        }
      } finally {
        await sandbox.close();
      }
    });
  }
});
