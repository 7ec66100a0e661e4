// Runs on the caller's thread (isolation "none") share one V8 watchdog context.
// What that must not change: a run the watchdog terminated at its deadline
// leaves the next runs whole, and no run sees anything of the one before it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { wat } from '../helpers/wat.js';

const FD_WRITE = '(import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))';

// Prints the 8 bytes at 1024 (zero in a fresh instance), then leaves a secret there.
const remember = `(module ${FD_WRITE}
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 8))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
    (i64.store (i32.const 1024) (i64.const 0x2121544552434553))))`;

const spin = '(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))';

describe('the watchdog context kept between runs on the caller\'s thread', () => {
  it('ends a spinning guest at its deadline, then runs the next guests fresh', async () => {
    const sandbox = await createSandbox({ isolation: 'none', limits: { timeout: '100ms' } });
    const [spinning, remembering] = await Promise.all([wat(spin), wat(remember)]);
    for (let round = 0; round < 3; round++) {
      const killed = await sandbox.run(spinning);
      assert.equal(killed.trap?.kind, 'deadline');
      for (let i = 0; i < 2; i++) {
        const fresh = await sandbox.run(remembering);
        assert.equal(fresh.exitCode, 0);
        assert.deepEqual(Buffer.from(fresh.stdout), Buffer.alloc(8), 'a fresh instance sees zeros, never the earlier run\'s secret');
      }
    }
    await sandbox.close();
  });
});
