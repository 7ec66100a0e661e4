// A WASI host serves run after run on one thread: nothing of one run may be
// visible to the next (descriptors, environment, memory, denied attempts).
// runWasi without a host keeps this thread's own between runs in the same way.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Errno } from '../../src/wasi/errno.js';
import { defineGrant } from '../../src/wasi/grant.js';
import { createWasiHost, runWasi } from '../../src/wasi/run.js';
import { tempDir } from '../helpers/tmp.js';
import { wat, watFixture } from '../helpers/wat.js';

describe('a reused WASI host', () => {
  for (const given of [true, false]) it(`carries nothing from one run to the next (${given ? 'a host given' : "the thread's kept host"})`, async (t) => {
    const module = new WebAssembly.Module(await watFixture('wasi-probe'));
    const host = given ? createWasiHost() : undefined;
    const secretDir = tempDir(t);
    writeFileSync(join(secretDir, 'secret'), 'first run only');
    let leftOpen = -1;
    const first = runWasi(module, defineGrant({ env: [['SECRET', 'x']], mounts: [{ host: secretDir, guest: '/s', readOnly: true }] }), {
      ...(host ? { host } : {}),
      beforeStart(instance) {
        const call = instance.exports as Record<string, (...a: Array<number | bigint>) => number>;
        const bytes = new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer);
        bytes.set(new TextEncoder().encode('secret'), 200);
        assert.equal(call.path_open!(3, 0, 200, 6, 0, 2n, 0n, 0, 0), Errno.SUCCESS);
        leftOpen = new DataView(bytes.buffer).getUint32(0, true);
        assert.equal(call.path_create_directory!(3, 200, 6), Errno.ROFS);
      },
    });
    assert.equal(first.deniedCount, 1);
    assert.ok(leftOpen >= 4);
    const second = runWasi(module, defineGrant({}), {
      ...(host ? { host } : {}),
      beforeStart(instance) {
        const call = instance.exports as Record<string, (...a: Array<number | bigint>) => number>;
        assert.equal(call.environ_sizes_get!(0, 4), Errno.SUCCESS);
        assert.equal(new DataView((instance.exports.memory as WebAssembly.Memory).buffer).getUint32(0, true), 0);
        assert.equal(call.fd_prestat_get!(3, 0), Errno.BADF);
        assert.equal(call.fd_read!(leftOpen, 0, 0, 8), Errno.BADF);
      },
    });
    assert.equal(second.exitCode, 0);
    assert.equal(second.deniedCount, 0);
    assert.deepEqual(second.denied, []);
    assert.deepEqual(second.limitsHit, []);
  });

  it("gives a run started inside another's host call a host of its own, so the outer run keeps its arguments", async () => {
    // The outer guest calls env.inner (which runs another guest to the end on this thread), then prints its own argv.
    const outer = new WebAssembly.Module(await wat(`(module
      (import "env" "inner" (func $inner))
      (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (call $inner)
        (drop (call $sizes (i32.const 100) (i32.const 104)))
        (drop (call $args (i32.const 200) (i32.const 400)))
        (i32.store (i32.const 0) (i32.const 400))
        (i32.store (i32.const 4) (i32.load (i32.const 104)))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))`));
    const inner = new WebAssembly.Module(await wat(`(module
      (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start") (drop (call $sizes (i32.const 0) (i32.const 4)))))`));
    let innerExit: number | null = -1;
    const result = runWasi(outer, defineGrant({ args: ['outer-run'] }), {
      links: { env: { inner: () => { innerExit = runWasi(inner, defineGrant({ args: ['inner-run'] })).exitCode; } } },
    });
    assert.equal(innerExit, 0);
    assert.equal(result.exitCode, 0, JSON.stringify(result.trap));
    assert.equal(new TextDecoder().decode(result.stdout), 'outer-run\0');
    // And the kept host serves the next run as before.
    assert.equal(new TextDecoder().decode(runWasi(outer, defineGrant({ args: ['again'] }), { links: { env: { inner: () => {} } } }).stdout), 'again\0');
  });
});
