// The calls programs make in loops are guarded one by one (preview1.ts,
// `guardHot`) rather than by the shared wrapper; random_get draws from a pool;
// path_open reads its rights without BigInt masks. Each must answer, record
// and refuse exactly as before.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Errno } from '../../src/wasi/errno.js';
import { ALL_RIGHTS } from '../../src/wasi/rights.js';
import { tempDir } from '../helpers/tmp.js';
import { withProbe } from './probe.js';

const OK = Errno.SUCCESS;
const OUT_OF_MEMORY = 0xffff_fff0;

describe('calls guarded one by one', () => {
  it('answer errnos and record denials with the arguments they were given', async (t) => {
    const dir = tempDir(t);
    const result = await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const escape = p.put(200, '../outside');
      assert.equal(p.path_open!(3, 0, 200, escape, 0, 2n, 0n, 0, 0), Errno.PERM);
      const up = p.put(300, '../up');
      assert.equal(p.path_filestat_get!(3, 1, 300, up, 0), Errno.PERM);
      const away = p.put(400, '../away');
      assert.equal(p.path_unlink_file!(3, 400, away), Errno.PERM);
      assert.equal(p.fd_write!(40, 0, 0, 0), Errno.BADF);
      assert.equal(p.fd_read!(40, 0, 0, 0), Errno.BADF);
      assert.equal(p.fd_close!(40), Errno.BADF);
      assert.equal(p.fd_fdstat_get!(40, 0), Errno.BADF);
      assert.equal(p.fd_filestat_get!(40, 0), Errno.BADF);
      assert.equal(p.fd_fdstat_get!(3, OUT_OF_MEMORY), Errno.FAULT);
      assert.equal(p.clock_time_get!(9, 0n, 0), Errno.INVAL);
      assert.equal(p.clock_time_get!(1, 0n, OUT_OF_MEMORY), Errno.FAULT);
      assert.equal(p.random_get!(OUT_OF_MEMORY, 64), Errno.FAULT);
    });
    assert.deepEqual(result.denied, [
      { call: 'path_open', errno: 'PERM', fd: 3, path: '../outside' },
      { call: 'path_filestat_get', errno: 'PERM', fd: 3, path: '../up' },
      { call: 'path_unlink_file', errno: 'PERM', fd: 3, path: '../away' },
    ]);
  });

  it('path_open refuses rights outside the defined bits, the sign bit included', async (t) => {
    const dir = tempDir(t);
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const name = p.put(200, 'f');
      const open = (base: bigint, inheriting: bigint) => p.path_open!(3, 0, 200, name, 1, base, inheriting, 0, 100);
      assert.equal(open(ALL_RIGHTS + 1n, 0n), Errno.INVAL);
      assert.equal(open(-1n, 0n), Errno.INVAL);
      assert.equal(open(-(2n ** 63n), 0n), Errno.INVAL);
      assert.equal(open(0n, ALL_RIGHTS + 1n), Errno.INVAL);
      assert.equal(open(0n, -1n), Errno.INVAL);
      assert.equal(open(ALL_RIGHTS, ALL_RIGHTS), OK);
    });
  });
});

describe('random_get from the OS pool', () => {
  it('hands out each byte once, across refills of the pool', async () => {
    const seen = new Set<string>();
    await withProbe({}, (p) => {
      // 5,000 draws of 16 bytes: 80,000 bytes, past one 64 KiB pool.
      for (let i = 0; i < 5000; i++) {
        assert.equal(p.random_get!(0, 16), OK);
        seen.add(Buffer.from(p.bytes.subarray(0, 16)).toString('hex'));
      }
    });
    assert.equal(seen.size, 5000);
  });

  it('hands out each byte once while its batches grow, draws of every size mixed', async () => {
    // Batches start at 256 bytes and double to 64 KiB; a draw larger than the batch left gets a batch of its own size.
    const seen = new Set<string>();
    let draws = 0;
    await withProbe({}, (p) => {
      for (let i = 0; i < 300; i++) {
        for (const length of [16, 200, 3000, 17, 40000]) {
          assert.equal(p.random_get!(100, length), OK);
          // Every 16-byte window of every draw: a byte handed out twice repeats its window (at 2^-128 by chance).
          for (let at = 0; at + 16 <= length; at += 16) seen.add(Buffer.from(p.bytes.subarray(100 + at, 100 + at + 16)).toString('hex'));
          draws += Math.floor(length / 16);
        }
      }
    });
    assert.equal(seen.size, draws);
  });

  it('fills exactly the range asked for, small or large, at any offset', async () => {
    await withProbe({}, (p) => {
      for (const [at, length] of [[1001, 1], [2003, 64], [3005, 65], [5007, 1024]] as const) {
        p.bytes.fill(0xaa, at - 8, at + length + 8);
        assert.equal(p.random_get!(at, length), OK);
        assert.deepEqual([...p.bytes.subarray(at - 8, at)], new Array(8).fill(0xaa), `before ${at}+${length}`);
        assert.deepEqual([...p.bytes.subarray(at + length, at + length + 8)], new Array(8).fill(0xaa), `after ${at}+${length}`);
        if (length >= 64) assert.ok(p.bytes.subarray(at, at + length).some((b) => b !== 0xaa), `filled ${at}+${length}`);
      }
      assert.equal(p.random_get!(0, 0), OK);
    });
  });
});

describe('fd_read with an iovec array its own read overwrites', () => {
  it('fills the buffers the guest passed, not what the read wrote over the array', async (t) => {
    const dir = tempDir(t);
    // The first 8 bytes read land on the second iovec, spelling (3000, 4); the next 4 are "WXYZ".
    const overwrite = new Uint8Array(12);
    new DataView(overwrite.buffer).setUint32(0, 3000, true);
    new DataView(overwrite.buffer).setUint32(4, 4, true);
    overwrite.set(new TextEncoder().encode('WXYZ'), 8);
    writeFileSync(join(dir, 'f'), overwrite);
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const name = p.put(200, 'f');
      assert.equal(p.path_open!(3, 0, 200, name, 0, ALL_RIGHTS, ALL_RIGHTS, 0, 100), OK);
      const view = new DataView(p.bytes.buffer);
      const fd = view.getUint32(100, true);
      // iovec 0 = (1008, 8): the bytes of iovec 1 itself; iovec 1 = (2000, 4).
      view.setUint32(1000, 1008, true);
      view.setUint32(1004, 8, true);
      view.setUint32(1008, 2000, true);
      view.setUint32(1012, 4, true);
      assert.equal(p.fd_read!(fd, 1000, 2, 4000), OK);
      assert.equal(view.getUint32(4000, true), 12);
      assert.equal(p.get(2000, 4), 'WXYZ', 'the second buffer is the one passed');
      assert.deepEqual([...p.bytes.subarray(3000, 3004)], [0, 0, 0, 0], 'nothing lands where the read wrote over the array');
    });
  });
});
