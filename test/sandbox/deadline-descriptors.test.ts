// A guest stopped at its deadline leaves no descriptor of the host's behind:
// in thread isolation its worker is terminated mid-run, with the files the
// guest opened still open. Node closes at a worker's exit the descriptors its
// own fs.open made; the ones the native helper opens (src/wasi/fs/native-at.ts)
// are closed by the helper at that exit. Without that, every such run leaked
// them, and a server's tenants could run the whole process out of descriptors.

import assert from 'node:assert/strict';
import { readdirSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { nativeAtAvailable } from '../../src/wasi/fs/native-at.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

/** Opens data/f.txt twice (path_open on the preopen, fd 3), then spins. */
const openThenSpin = `(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "f.txt")
  (func $open_file (result i32)
    (call $open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 64)))
  (func (export "_start")
    (if (call $open_file) (then unreachable))
    (if (call $open_file) (then unreachable))
    (loop $spin (br $spin))))`;

/** Descriptors of this process open on `file` (workers' own come and go with the pool: not counted). */
function openOn(file: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) count++;
    } catch {
      // Closed since it was listed.
    }
  }
  return count;
}

describe('descriptors after a deadline', () => {
  it('a worker terminated at the deadline leaves none of the files its guest had open', async (t) => {
    if (!nativeAtAvailable()) {
      t.skip('the native helper is not built here (Node closes its own descriptors at a worker\'s exit)');
      return;
    }
    const dir = tempDir(t);
    writeFileSync(`${dir}/f.txt`, 'data\n');
    const file = realpathSync(`${dir}/f.txt`);
    const module = await wat(openThenSpin);
    const sandbox = await createSandbox({ isolation: 'thread', mount: [{ host: dir, guest: '/data' }], limits: { timeout: '200ms' } });
    t.after(() => sandbox.close());
    for (let i = 0; i < 8; i++) assert.equal((await sandbox.run(module)).trap?.kind, 'deadline');
    // Eight runs of two open files each: sixteen descriptors on the file if the terminated workers
    // kept them. A terminated worker's teardown runs on its own thread, after its run has answered.
    const settled = Date.now() + 10_000;
    while (openOn(file) > 0 && Date.now() < settled) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(openOn(file), 0, 'descriptors on the guest\'s file still open after eight deadlines');
  });
});
