// imports.unknown: refuse (default), trap, zero; recorded in the result.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { AdmissionError } from '../../src/sandbox/prepare.js';
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
