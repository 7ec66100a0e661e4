// Runs on the caller's thread (isolation "none") share one V8 watchdog context.
// What that must not change: a run the watchdog terminated at its deadline
// leaves the next runs whole, and no run sees anything of the one before it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { REMEMBER } from '../helpers/guests.js';
import { wat } from '../helpers/wat.js';

const spin = '(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))';

describe('the watchdog context kept between runs on the caller\'s thread', () => {
  it('ends a spinning guest at its deadline, then runs the next guests fresh', async () => {
    const sandbox = await createSandbox({ isolation: 'none', limits: { timeout: '100ms' } });
    const [spinning, remembering] = await Promise.all([wat(spin), wat(REMEMBER)]);
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
