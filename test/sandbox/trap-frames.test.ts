// Trap frames name the module's own functions: with a deadline the rewriter
// inserts the checkpoint import (every defined function moves up by one) and
// wraps a start function into `_start`; the report maps both back.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

// As shipped: 0 proc_exit (import), 1 $a, 2 $boom, 3 $init (start), 4 _start.
const source = `(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (memory (export "memory") 1) (func $a) (func $boom unreachable) (func $init) (start $init)
  (func $main (export "_start") (call $a) (call $boom)))`;

describe('trap frames after the deadline rewrite', () => {
  for (const isolation of ['none', 'thread'] as const) {
    it(`name the module's functions by their indices as shipped, and label the start wrapper (${isolation} isolation)`, async (t) => {
      const sandbox = await createSandbox({ isolation, limits: { timeout: '5s' } });
      t.after(() => sandbox.close());
      const r = await sandbox.run(await wat(source, { names: true }));
      assert.equal(r.trap?.kind, 'unreachable');
      assert.deepEqual(r.trap.stack, [
        { index: 2, name: 'boom' },
        { index: 4, name: 'main' },
        { index: 6, name: null, injected: 'start-wrapper' },
      ]);
    });
  }

  it('without a name section, frames carry the indices as shipped', async (t) => {
    const sandbox = await createSandbox({ isolation: 'none', limits: { timeout: '5s' } });
    t.after(() => sandbox.close());
    const r = await sandbox.run(await wat(source));
    assert.deepEqual(r.trap?.stack?.map((f) => f.index), [2, 4, 6]);
    assert.deepEqual(r.trap?.stack?.map((f) => f.injected ?? null), [null, null, 'start-wrapper']);
  });

  it('warden run --timeout prints the frames as shipped on stderr', async (t) => {
    const path = join(tempDir(t), 'boom.wasm');
    writeFileSync(path, await wat(source, { names: true }));
    const r = await runWarden(['run', '--timeout', '5s', path]);
    assert.equal(r.code, 134, r.stderr);
    assert.match(r.stderr, /at boom \(function 2\)\n {4}at main \(function 4\)\n {4}at \[start-wrapper added by wasm-warden\]/);
  });
});
