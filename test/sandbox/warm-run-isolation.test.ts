// Runs of one module, one after another on one warm worker (which keeps its
// WASI host, and the sandbox its policy's grant parts, between runs): each
// run has a fresh instance and fresh descriptors, and sees only its own
// memory image, globals, descriptors and environment.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSandbox, createSharedPool } from '../../src/sandbox/sandbox.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

// Reports what an earlier run could have left, then leaves traces of its own:
// bytes 0-3 the data segment at 2048 ("orig" unless a run's write survived),
// byte 4 a mutable global (0 unless a run's increment survived), byte 5
// fd_fdstat_get's errno on descriptor 4 (BADF: 8, unless a run's open
// survived), byte 6 the environment's count, byte 7 path_open's errno, byte 8
// the descriptor it opened; then the environment's strings. The file is left
// open, the data overwritten with "LEAK", the global incremented.
const tracer = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $envsizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 2048) "orig")
  (data (i32.const 3072) "f.txt")
  (global $runs (mut i32) (i32.const 0))
  (func (export "_start")
    (i32.store (i32.const 1000) (i32.load (i32.const 2048)))
    (i32.store8 (i32.const 1004) (global.get $runs))
    (i32.store8 (i32.const 1005) (call $fdstat (i32.const 4) (i32.const 3100)))
    (drop (call $envsizes (i32.const 100) (i32.const 104)))
    (i32.store8 (i32.const 1006) (i32.load (i32.const 100)))
    (drop (call $env (i32.const 200) (i32.const 400)))
    (i32.store8 (i32.const 1007)
      (call $open (i32.const 3) (i32.const 0) (i32.const 3072) (i32.const 5) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 3200)))
    (i32.store8 (i32.const 1008) (i32.load (i32.const 3200)))
    (i32.store (i32.const 2048) (i32.const 0x4b41454c))
    (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
    (i32.store (i32.const 0) (i32.const 1000))
    (i32.store (i32.const 4) (i32.const 9))
    (i32.store (i32.const 8) (i32.const 400))
    (i32.store (i32.const 12) (i32.load (i32.const 104)))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))))`;

const BADF = 8;

function expected(env: string[]): Uint8Array {
  const head = [...Buffer.from('orig'), 0, BADF, env.length, 0, 4];
  return Uint8Array.from([...head, ...env.flatMap((e) => [...Buffer.from(e), 0])]);
}

describe('runs one after another on one warm worker', () => {
  it('see none of the memory, globals, descriptors or environment of the runs before', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'f.txt'), 'contents');
    // One worker: every run lands on it.
    const pool = createSharedPool({ size: 1, queue: 4 });
    t.after(() => pool.close());
    const sandbox = await createSandbox({ isolation: 'thread', mount: [{ host: dir, guest: '/' }] }, { pool });
    const bytes = await wat(tracer);
    for (let i = 0; i < 6; i++) {
      // The first run has a variable the others must not see.
      const env: Record<string, string> = i === 0 ? { RUN: '0', SECRET: 'first' } : { RUN: String(i) };
      const result = await sandbox.run(bytes, { env });
      assert.equal(result.exitCode, 0, `run ${i}: ${JSON.stringify(result.trap)}`);
      assert.deepEqual([...result.stdout], [...expected(Object.entries(env).map(([k, v]) => `${k}=${v}`))], `run ${i} saw something of an earlier run`);
    }
  });

  it('run a module whose start function reads the environment with the environment of its own run', async (t) => {
    // The start function copies the environment into memory at instantiation time (it is moved into
    // `_start` by the rewrite); `_start` then prints it. An instance made ahead of its run must not
    // have run it with the run before's context.
    const startReads = `(module
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $envsizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_get" (func $env (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func $init
        (drop (call $envsizes (i32.const 100) (i32.const 104)))
        (drop (call $env (i32.const 200) (i32.const 400))))
      (start $init)
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 400))
        (i32.store (i32.const 4) (i32.load (i32.const 104)))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))`;
    const pool = createSharedPool({ size: 1, queue: 4 });
    t.after(() => pool.close());
    const sandbox = await createSandbox({ isolation: 'thread' }, { pool });
    const bytes = await wat(startReads);
    for (let i = 0; i < 5; i++) {
      const result = await sandbox.run(bytes, { env: { RUN: String(i) } });
      assert.equal(result.exitCode, 0, `run ${i}: ${JSON.stringify(result.trap)}`);
      assert.equal(Buffer.from(result.stdout).toString('latin1'), `RUN=${i}\0`);
    }
  });

  it('capture each run\'s output alone through the worker\'s kept stdout sink, after a run that filled it', async (t) => {
    // The worker's channel makes its stdout sink once and keeps it; its state lives in the shared
    // cells each run resets. A run whose output passed the gathering region (posted in chunks) and
    // ended mid-chunk must leave nothing for the next run's capture.
    const dir = tempDir(t);
    const big = 'x'.repeat(200_000);
    writeFileSync(join(dir, 'big.txt'), big);
    writeFileSync(join(dir, 'small.txt'), 'small');
    const pool = createSharedPool({ size: 1, queue: 4 });
    t.after(() => pool.close());
    const sandbox = await createSandbox({ isolation: 'thread', mount: [{ host: dir, guest: '/' }] }, { pool });
    const cat = new Uint8Array(readFileSync(fixture('c', 'wasi', 'cat.wasm')));
    const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
    const alone = await sandbox.run(cat, { args: ['cat', '/small.txt'] });
    assert.ok(text(alone.stdout).startsWith('small'));
    const filled = await sandbox.run(cat, { args: ['cat', '/big.txt'] });
    assert.ok(text(filled.stdout).startsWith(big), 'the big run\'s own output, whole');
    for (let i = 0; i < 2; i++) {
      const again = await sandbox.run(cat, { args: ['cat', '/small.txt'] });
      assert.equal(text(again.stdout), text(alone.stdout), 'nothing of the big run in a later capture');
    }
  });
});
