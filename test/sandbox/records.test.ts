// The record of a run ended by its deadline is as complete as a finished
// one's: usage (memory grown included), denied attempts, limits hit and
// output gathered so far, in every mode.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { wat, watFixture } from '../helpers/wat.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
/** This process's scratch directories (/dev/shm is shared; names carry the creator's pid). */
const scratchDirs = () => readdirSync('/dev/shm').filter((n) => n.startsWith(`warden-scratch-${process.pid}-`)).sort();

for (const isolation of ['none', 'thread', 'process'] as const) {
  describe(`a run killed at its deadline keeps its record, ${isolation} isolation`, () => {
    it('usage, denials and stdout so far', async () => {
      const before = scratchDirs();
      const sandbox = await createSandbox({ isolation, mount: [{ kind: 'tmpfs', guest: '/scratch' }], limits: { timeout: '500ms', files: 1 } });
      try {
        const result = await sandbox.run(await watFixture('hostile-record'));
        assert.equal(result.trap?.kind, 'deadline');
        assert.equal(result.exitCode, null);
        assert.deepEqual([...result.limitsHit].sort(), ['max-files', 'timeout']);
        assert.equal(text(result.stdout), 'before the deadline\n');
        assert.equal(result.usage.bytesWritten, 1024 * 1024);
        assert.equal(result.usage.filesCreated, 1);
        assert.equal(result.usage.outputBytes, 20);
        assert.equal(result.usage.peakMemoryBytes, 18 * 65536);
        assert.equal(result.deniedCount, 6);
        assert.deepEqual(result.denied.map((d) => `${d.call} ${d.errno}`), [...Array(5).fill('path_open PERM'), 'path_open DQUOT']);
      } finally {
        await sandbox.close();
      }
      assert.deepEqual(scratchDirs(), before);
    });

    // No host call after the growth: a worker stopped at the deadline reported 0 bytes of memory.
    it('the memory a guest grew to before spinning', async () => {
      const sandbox = await createSandbox({ isolation, limits: { timeout: '300ms' } });
      try {
        const result = await sandbox.run(await wat(`(module (memory (export "memory") 1)
          (func (export "_start")
            (loop (br_if 0 (i32.lt_u (memory.grow (i32.const 1)) (i32.const 31))))
            (memory.fill (i32.const 0) (i32.const 7) (i32.const 65536))
            (loop (br 0))))`));
        assert.equal(result.trap?.kind, 'deadline');
        assert.equal(result.usage.peakMemoryBytes, 32 * 65536);
      } finally {
        await sandbox.close();
      }
    });
  });
}
