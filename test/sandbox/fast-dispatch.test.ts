// Thread runs hand jobs to an idle worker through the channel's job bell and
// take a captured stream's last chunk from shared memory with the result.
// What that must not change: two runs on one worker see nothing of each other
// (memory, output), output beyond one shared-memory chunk arrives whole and
// in order, and a spinning guest still ends at its deadline with the output
// it wrote so far.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSandbox, createSharedPool } from '../../src/sandbox/sandbox.js';
import { FD_WRITE, REMEMBER } from '../helpers/guests.js';
import { wat } from '../helpers/wat.js';

// Writes 100 bytes of 'x' to stdout and to stderr.
const noisy = `(module ${FD_WRITE}
  (memory (export "memory") 1)
  (func (export "_start")
    (memory.fill (i32.const 1024) (i32.const 0x78) (i32.const 100))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 100))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
    (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 16)))))`;

const quiet = '(module (memory (export "memory") 1) (func (export "_start")))';

// Fills 200,000 bytes with (i * 7) & 255; writes them to stdout in 1,000-byte
// writes, and the first 100,000 to stderr in one write.
const flood = `(module ${FD_WRITE}
  (memory (export "memory") 4)
  (func (export "_start") (local $i i32)
    (loop $fill
      (i32.store8 (i32.add (i32.const 4096) (local.get $i)) (i32.mul (local.get $i) (i32.const 7)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 200000))))
    (local.set $i (i32.const 0))
    (loop $out
      (i32.store (i32.const 0) (i32.add (i32.const 4096) (local.get $i)))
      (i32.store (i32.const 4) (i32.const 1000))
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1000)))
      (br_if $out (i32.lt_u (local.get $i) (i32.const 200000))))
    (i32.store (i32.const 0) (i32.const 4096))
    (i32.store (i32.const 4) (i32.const 100000))
    (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 16)))))`;

// Prints "before", then spins.
const spinAfterPrint = `(module ${FD_WRITE}
  (memory (export "memory") 1)
  (data (i32.const 1024) "before")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
    (loop $spin (br $spin))))`;

const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255);

describe('thread runs with the job bell and output taken from shared memory', () => {
  it('gives each run on one worker a fresh instance: no memory of the run before', async (t) => {
    const pool = createSharedPool({ size: 1, queue: 4 });
    t.after(() => pool.close());
    const sandbox = await createSandbox({ isolation: 'thread' }, { pool });
    const bytes = await wat(REMEMBER);
    for (let i = 0; i < 3; i++) {
      const result = await sandbox.run(bytes);
      assert.equal(result.exitCode, 0);
      assert.deepEqual([...result.stdout], [0, 0, 0, 0, 0, 0, 0, 0], `run ${i} saw memory of an earlier run`);
    }
  });

  it("leaves none of a run's output to the next run on the same worker", async (t) => {
    const pool = createSharedPool({ size: 1, queue: 4 });
    t.after(() => pool.close());
    const sandbox = await createSandbox({ isolation: 'thread' }, { pool });
    const [loud, silent] = await Promise.all([wat(noisy), wat(quiet)]);
    const first = await sandbox.run(loud);
    assert.equal(new TextDecoder().decode(first.stdout), 'x'.repeat(100));
    assert.equal(new TextDecoder().decode(first.stderr), 'x'.repeat(100));
    const second = await sandbox.run(silent);
    assert.equal(second.exitCode, 0);
    assert.equal(second.stdout.length, 0);
    assert.equal(second.stderr.length, 0);
    assert.equal(second.usage.outputBytes, 0);
  });

  it('delivers output larger than one shared-memory chunk whole and in order', async (t) => {
    const pool = createSharedPool({ size: 1, queue: 4 });
    t.after(() => pool.close());
    const sandbox = await createSandbox({ isolation: 'thread' }, { pool });
    const bytes = await wat(flood);
    for (let i = 0; i < 2; i++) {
      const result = await sandbox.run(bytes);
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdout.length, 200_000);
      assert.deepEqual(Buffer.from(result.stdout), Buffer.from(pattern(200_000)));
      assert.deepEqual(Buffer.from(result.stderr), Buffer.from(pattern(100_000)));
    }
  });

  it('still ends a spinning guest at its deadline, with what it printed, and serves the next run', async (t) => {
    const pool = createSharedPool({ size: 1, queue: 4 });
    t.after(() => pool.close());
    // Ready means the workers (and the spare) have loaded: the deadline counts only the run.
    await pool.ready();
    const sandbox = await createSandbox({ isolation: 'thread', limits: { timeout: '100ms' } }, { pool });
    const [spin, loud] = await Promise.all([wat(spinAfterPrint), wat(noisy)]);
    const killed = await sandbox.run(spin);
    assert.equal(killed.trap?.kind, 'deadline');
    assert.equal(new TextDecoder().decode(killed.stdout), 'before');
    const next = await sandbox.run(loud);
    assert.equal(next.exitCode, 0);
    assert.equal(new TextDecoder().decode(next.stdout), 'x'.repeat(100));
    assert.equal(pool.stats.replaced, 1);
  });
});
