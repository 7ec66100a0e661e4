// A long-lived sandbox lends each fresh instance a zeroed memory kept by its
// thread (transform/host-memory.ts, wasi/memory-pool.ts). Each run must see
// exactly what an engine-made memory holds: zeros, at the module's initial
// size, with its maximum; nothing of the runs before it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { threadMemoryPool } from '../../src/wasi/memory-pool.js';
import { wat } from '../helpers/wat.js';

// Exits 2 unless memory starts at 2 pages, 1 if any byte of it is not zero;
// then fills every byte with 0xAB, and with any argument grows a page (to 3)
// and fills that too, and exits 0. A run after a run that left 0xAB behind
// exits 1 if the memory it got was not zeroed.
const scanner = await wat(`(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $argsizes (param i32 i32) (result i32)))
  (memory (export "memory") 2 4)
  (func (export "_start") (local $at i32) (local $end i32)
    (if (i32.ne (memory.size) (i32.const 2)) (then (call $exit (i32.const 2))))
    (local.set $end (i32.const 131072))
    (block $clean (loop $next
      (br_if $clean (i32.ge_u (local.get $at) (local.get $end)))
      (if (i64.ne (i64.load (local.get $at)) (i64.const 0)) (then (call $exit (i32.const 1))))
      (local.set $at (i32.add (local.get $at) (i32.const 8)))
      (br $next)))
    (drop (call $argsizes (i32.const 0) (i32.const 4)))
    (if (i32.gt_u (i32.load (i32.const 0)) (i32.const 1)) (then
      (drop (memory.grow (i32.const 1)))
      (local.set $end (i32.const 196608))))
    (memory.fill (i32.const 0) (i32.const 0xAB) (local.get $end))
    (call $exit (i32.const 0))))`);

describe('memories lent to fresh instances', () => {
  it('a kept memory reaches the next run zeroed, at its initial size (none isolation: this thread\'s pool)', async (t) => {
    const sandbox = await createSandbox(parsePolicy({ isolation: 'none', limits: { timeout: '5s' } }));
    t.after(() => sandbox.close());
    const keptBefore = threadMemoryPool.bytes;
    assert.equal((await sandbox.run(scanner)).exitCode, 0);
    // The run's memory was kept: the next run gets it back, so the checks below are of a reused memory.
    assert.equal(threadMemoryPool.bytes, keptBefore + 2 * 65536);
    for (let i = 0; i < 3; i++) assert.equal((await sandbox.run(scanner)).exitCode, 0, `run ${i + 2} saw bytes of a run before`);
  });

  it('a memory the guest grew is not kept: the next run starts at the module\'s initial size', async (t) => {
    const sandbox = await createSandbox(parsePolicy({ isolation: 'none' }));
    t.after(() => sandbox.close());
    assert.equal((await sandbox.run(scanner)).exitCode, 0);
    const kept = threadMemoryPool.bytes;
    const grown = await sandbox.run(scanner, { args: ['scanner', 'grow'] });
    assert.equal(grown.exitCode, 0);
    assert.equal(grown.usage.peakMemoryBytes, 3 * 65536);
    assert.equal(threadMemoryPool.bytes, kept - 2 * 65536, 'the grown memory was kept');
    assert.equal((await sandbox.run(scanner)).exitCode, 0);
  });

  for (const isolation of ['thread', 'process'] as const) {
    it(`runs one after another in ${isolation} isolation see only zeros`, async (t) => {
      const sandbox = await createSandbox(parsePolicy({ isolation, limits: { timeout: '5s', concurrency: 1 } }));
      t.after(() => sandbox.close());
      for (let i = 0; i < 4; i++) {
        const result = await sandbox.run(scanner, i === 1 ? { args: ['scanner', 'grow'] } : {});
        assert.equal(result.exitCode, 0, `run ${i + 1}: ${JSON.stringify(result.trap)}`);
      }
    });
  }

  it('the memory keeps the maximum the policy allows, lent or not', async (t) => {
    const sandbox = await createSandbox(parsePolicy({ isolation: 'none', limits: { memory: '192KiB' } }));
    t.after(() => sandbox.close());
    // 3 pages allowed: the grow to 3 works; the module's own maximum is 4.
    assert.equal((await sandbox.run(scanner, { args: ['scanner', 'grow'] })).exitCode, 0);
    const growMore = await wat(`(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 2 4)
      (func (export "_start") (call $exit (i32.add (i32.const 10) (memory.grow (i32.const 2))))))`);
    assert.equal((await sandbox.run(growMore)).exitCode, 9, 'memory.grow beyond the policy returned -1');
  });
});
