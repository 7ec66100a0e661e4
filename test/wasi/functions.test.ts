// Each preview1 function on its errno paths, called directly on guest memory.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Errno } from '../../src/wasi/errno.js';
import { ALL_RIGHTS, RIGHTS } from '../../src/wasi/rights.js';
import { RunRefused } from '../../src/wasi/run.js';
import { tempDir } from '../helpers/tmp.js';
import { withProbe } from './probe.js';

const OK = Errno.SUCCESS;

describe('preview1 functions', () => {
  it('fd_write checks every pointer: EFAULT for an iovec outside memory, no host exception', async () => {
    const result = await withProbe({}, (p) => {
      p.view.setUint32(0, 65530, true); // buffer at the end of the only page
      p.view.setUint32(4, 100, true);  // running past it
      assert.equal(p.fd_write!(1, 0, 1, 16), Errno.FAULT);
      assert.equal(p.fd_write!(1, 70000, 1, 16), Errno.FAULT); // the iovec array itself outside
      assert.equal(p.fd_write!(1, 0, 1, 65535), Errno.FAULT); // the result pointer
      assert.equal(p.fd_write!(1, 0, 5000, 16), Errno.INVAL); // more iovecs than IOV_MAX
      const n = p.put(100, 'hi');
      p.view.setUint32(0, 100, true);
      p.view.setUint32(4, n, true);
      assert.equal(p.fd_write!(1, 0, 1, 16), OK);
      assert.equal(p.view.getUint32(16, true), 2);
    });
    assert.equal(new TextDecoder().decode(result.stdout), 'hi');
  });

  it('args and environ are exactly the grant', async () => {
    await withProbe({ args: ['prog', 'é'], env: [['K', 'v=1']] }, (p) => {
      assert.equal(p.args_sizes_get!(0, 4), OK);
      assert.equal(p.view.getUint32(0, true), 2);
      assert.equal(p.view.getUint32(4, true), 5 + 3);
      assert.equal(p.args_get!(100, 200), OK);
      assert.equal(p.get(p.view.getUint32(104, true), 2), 'é');
      assert.equal(p.environ_sizes_get!(0, 4), OK);
      assert.equal(p.view.getUint32(0, true), 1);
      assert.equal(p.environ_get!(100, 200), OK);
      assert.equal(p.get(200, 5), 'K=v=1');
      assert.equal(p.args_get!(65534, 200), Errno.FAULT);
    });
  });

  it('the host environment never leaks', async () => {
    process.env.WARDEN_TEST_CANARY = 'leaked';
    try {
      await withProbe({}, (p) => {
        assert.equal(p.environ_sizes_get!(0, 4), OK);
        assert.equal(p.view.getUint32(0, true), 0);
      });
    } finally {
      delete process.env.WARDEN_TEST_CANARY;
    }
  });

  it('clock_time_get rejects unknown clocks; clock_res_get reports the policy resolution', async () => {
    await withProbe({ clock: { kind: 'coarse', resolutionNs: 5_000_000n } }, (p) => {
      assert.equal(p.clock_res_get!(1, 0), OK);
      assert.equal(p.view.getBigUint64(0, true), 5_000_000n);
      assert.equal(p.clock_time_get!(9, 0n, 0), Errno.INVAL);
      for (let id = 0; id < 4; id++) {
        assert.equal(p.clock_time_get!(id, 0n, 8), OK);
        assert.equal(p.view.getBigUint64(8, true) % 5_000_000n, 0n);
      }
    });
  });

  it('random_get fills guest memory, refuses more than the per-call cap, and seeds reproducibly', async () => {
    const draw = async () => {
      let bytes: number[] = [];
      await withProbe({ random: { kind: 'seeded', seed: 99 }, limits: { maxRandomBytesPerCall: 1024 } }, (p) => {
        assert.equal(p.random_get!(0, 64), OK);
        bytes = [...p.bytes.subarray(0, 64)];
        assert.equal(p.random_get!(0, 1025), Errno.INVAL);
        assert.equal(p.random_get!(65500, 64), Errno.FAULT);
      });
      return bytes;
    };
    const a = await draw();
    assert.deepEqual(a, await draw());
    assert.ok(a.filter((b) => b !== 0).length > 48);
  });

  it('proc_exit ends the run with its code; codes from 126 up are traps, as in Wasmtime', async () => {
    assert.equal((await withProbe({}, (p) => { p.proc_exit!(7); })).exitCode, 7);
    const high = await withProbe({}, (p) => { p.proc_exit!(200); });
    assert.equal(high.exitCode, null);
    assert.equal(high.trap?.kind, 'other');
  });

  it('sockets: EBADF on a closed descriptor, ENOTSOCK on any open one, recorded as denied', async () => {
    const result = await withProbe({}, (p) => {
      assert.equal(p.sock_accept!(1, 0, 0), Errno.NOTSOCK);
      assert.equal(p.sock_recv!(40, 0, 0, 0, 0, 0), Errno.BADF);
      assert.equal(p.sock_send!(0, 0, 0, 0, 0), Errno.NOTSOCK);
      assert.equal(p.sock_shutdown!(2, 0), Errno.NOTSOCK);
    });
    assert.ok(result.denied.some((d) => d.call === 'sock_accept' && d.errno === 'NOTSOCK'));
  });

  it('every call that writes guest memory refuses a write-guarded range with EFAULT and writes nothing', async (t) => {
    // A hardened module's guarded ranges (its null page and constants): here [0, 1024) and [4096, 4160).
    const dir = tempDir(t);
    writeFileSync(join(dir, 'f'), 'file bytes');
    symlinkSync('f', join(dir, 'link'));
    const GUARDED = 0;
    const RO = 4096;
    await withProbe({ args: ['prog', 'arg'], env: [['K', 'v']], mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const before = p.bytes.slice(0, 8192);
      const fileName = p.put(2000, 'f');
      const linkName = p.put(2100, 'link');
      // iovecs for reads: one buffer in the null page, one over the constants.
      p.view.setUint32(2200, GUARDED + 512, true); p.view.setUint32(2204, 8, true);
      p.view.setUint32(2208, RO + 8, true); p.view.setUint32(2212, 8, true);
      // one clock subscription for poll_oneoff, at 2300.
      p.bytes.fill(0, 2300, 2348); p.view.setBigUint64(2300 + 24, 0n, true);
      const calls: Array<[string, () => number]> = [
        ['args_get pointers', () => p.args_get!(GUARDED + 16, 3000)],
        ['args_get strings', () => p.args_get!(3000, RO)],
        ['args_sizes_get', () => p.args_sizes_get!(GUARDED, 3000)],
        ['environ_get strings', () => p.environ_get!(3000, RO + 4)],
        ['environ_sizes_get', () => p.environ_sizes_get!(3000, RO)],
        ['clock_time_get', () => p.clock_time_get!(1, 0n, GUARDED + 8)],
        ['clock_res_get', () => p.clock_res_get!(1, RO)],
        ['random_get', () => p.random_get!(RO + 60, 16)],
        ['fd_fdstat_get', () => p.fd_fdstat_get!(1, GUARDED + 100)],
        ['fd_filestat_get', () => p.fd_filestat_get!(3, RO)],
        ['fd_prestat_get', () => p.fd_prestat_get!(3, GUARDED)],
        ['fd_prestat_dir_name', () => p.fd_prestat_dir_name!(3, RO, 2)],
        ['fd_readdir', () => p.fd_readdir!(3, RO, 64, 0n, 3000)],
        ['fd_readdir count', () => p.fd_readdir!(3, 3100, 64, 0n, GUARDED)],
        ['path_open fd', () => p.path_open!(3, 0, 2000, fileName, 0, 2n, 0n, 0, GUARDED + 4)],
        ['path_filestat_get', () => p.path_filestat_get!(3, 0, 2000, fileName, RO)],
        ['path_readlink', () => p.path_readlink!(3, 2100, linkName, RO, 16, 3000)],
        ['path_readlink count', () => p.path_readlink!(3, 2100, linkName, 3100, 16, GUARDED)],
        ['poll_oneoff events', () => p.poll_oneoff!(2300, RO, 1, 3000)],
        ['poll_oneoff count', () => p.poll_oneoff!(2300, 3100, 1, GUARDED)],
      ];
      for (const [name, call] of calls) assert.equal(call(), Errno.FAULT, name);
      // A read into the guarded ranges, from a file opened for it.
      assert.equal(p.path_open!(3, 0, 2000, fileName, 0, 2n, 0n, 0, 3200), OK);
      const fd = p.view.getUint32(3200, true);
      assert.equal(p.fd_read!(fd, 2200, 1, 3000), Errno.FAULT, 'fd_read into the null page');
      assert.equal(p.fd_read!(fd, 2208, 1, 3000), Errno.FAULT, 'fd_read over the constants');
      assert.equal(p.fd_pread!(fd, 2208, 1, 0n, 3000), Errno.FAULT, 'fd_pread over the constants');
      assert.equal(p.fd_seek!(fd, 0n, 0, RO + 16), Errno.FAULT, 'fd_seek');
      assert.equal(p.fd_tell!(fd, GUARDED + 24), Errno.FAULT, 'fd_tell');
      assert.deepEqual(p.bytes.subarray(0, 1024), before.subarray(0, 1024), 'the null page is as it was');
      assert.deepEqual(p.bytes.subarray(RO, RO + 64), before.subarray(RO, RO + 64), 'the constants are as they were');
      // Outside the ranges, the same calls write.
      assert.equal(p.fd_read!(fd, 2216, 0, 3000), OK);
      assert.equal(p.clock_time_get!(1, 0n, 5000), OK);
      assert.equal(p.args_get!(5100, 5200), OK);
      assert.equal(p.get(5200, 4), 'prog');
    }, { writeGuarded: [0, 1024, RO, RO + 64] });
  });

  it('prestat names the preopen; non-preopens are EBADF; a short buffer is ENAMETOOLONG', async (t) => {
    const dir = tempDir(t);
    await withProbe({ mounts: [{ host: dir, guest: '/data', readOnly: false }] }, (p) => {
      assert.equal(p.fd_prestat_get!(3, 0), OK);
      assert.equal(p.view.getUint8(0), 0);
      assert.equal(p.view.getUint32(4, true), 5);
      assert.equal(p.fd_prestat_dir_name!(3, 100, 5), OK);
      assert.equal(p.get(100, 5), '/data');
      assert.equal(p.fd_prestat_dir_name!(3, 100, 4), Errno.NAMETOOLONG);
      assert.equal(p.fd_prestat_get!(1, 0), Errno.BADF);
      assert.equal(p.fd_prestat_get!(4, 0), Errno.BADF);
    });
  });

  it('use after close is EBADF; closing a preopen removes the capability', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'f'), 'x');
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const len = p.put(200, 'f');
      assert.equal(p.path_open!(3, 0, 200, len, 0, 2n, 0n, 0, 0), OK);
      const fd = p.view.getUint32(0, true);
      assert.equal(p.fd_close!(fd), OK);
      assert.equal(p.fd_close!(fd), Errno.BADF);
      assert.equal(p.fd_read!(fd, 0, 0, 8), Errno.BADF);
      assert.equal(p.fd_close!(3), OK);
      assert.equal(p.path_open!(3, 0, 200, len, 0, 2n, 0n, 0, 0), Errno.BADF);
    });
  });

  it('a descriptor limit too small for stdio and the mounts refuses the run by name, not as an internal error', async (t) => {
    const mounts = [{ host: tempDir(t), guest: '/a', readOnly: false }, { host: tempDir(t), guest: '/b', readOnly: true }];
    await assert.rejects(withProbe({ mounts, limits: { maxFds: 4 } }, () => assert.fail('the guest ran')), (error: unknown) => {
      assert.ok(error instanceof RunRefused, String(error));
      assert.match(error.message, /4 descriptors/);
      assert.match(error.message, /\/b/);
      return true;
    });
    await assert.rejects(withProbe({ limits: { maxFds: 2 } }, () => assert.fail('the guest ran')), RunRefused);
    // Exactly enough: the run goes ahead.
    assert.equal((await withProbe({ mounts, limits: { maxFds: 5 } }, (p) => { assert.equal(p.fd_prestat_get!(4, 0), Errno.SUCCESS); })).exitCode, 0);
  });

  it('fd_renumber over a preopen replaces it and grants nothing more', async (t) => {
    const a = tempDir(t);
    const b = tempDir(t);
    writeFileSync(join(a, 'in-a'), 'a');
    writeFileSync(join(b, 'in-b'), 'b');
    await withProbe({ mounts: [{ host: a, guest: '/a', readOnly: true }, { host: b, guest: '/b', readOnly: false }] }, (p) => {
      assert.equal(p.fd_renumber!(4, 3), OK); // /b now at 3, /a closed
      assert.equal(p.fd_prestat_dir_name!(3, 100, 2), OK);
      assert.equal(p.get(100, 2), '/b');
      assert.equal(p.fd_prestat_get!(4, 0), Errno.BADF);
      const len = p.put(200, 'in-a');
      assert.equal(p.path_open!(3, 0, 200, len, 0, 2n, 0n, 0, 0), Errno.NOENT);
      assert.equal(p.fd_renumber!(3, 30), Errno.BADF); // target must be open
      assert.equal(p.fd_renumber!(31, 3), Errno.BADF);
    });
  });

  it('fd_readdir lists . and .., honours cookies and truncates the last entry without leaking memory', async (t) => {
    const dir = tempDir(t);
    for (const name of ['alpha', 'beta', 'gamma']) writeFileSync(join(dir, name), name);
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      p.bytes.fill(0xaa, 0, 4096);
      assert.equal(p.fd_readdir!(3, 1000, 2000, 0n, 0), OK);
      const used = p.view.getUint32(0, true);
      const names: string[] = [];
      let cookie = 0n;
      for (let at = 1000; at < 1000 + used;) {
        const len = p.view.getUint32(at + 16, true);
        names.push(p.get(at + 24, len));
        cookie = p.view.getBigUint64(at, true);
        at += 24 + len;
      }
      assert.deepEqual(names, ['.', '..', 'alpha', 'beta', 'gamma']);
      assert.equal(cookie, 5n);
      // '..' carries the directory's own inode, never 0 (wasi-libc would stat '..' out of the
      // descriptor to fill it in) and never the parent's (outside the mount for a preopen).
      const dotIno = p.view.getBigUint64(1000 + 8, true);
      assert.notEqual(dotIno, 0n);
      assert.equal(p.view.getBigUint64(1000 + 25 + 8, true), dotIno);
      // Resume after the second entry.
      assert.equal(p.fd_readdir!(3, 1000, 2000, 2n, 0), OK);
      assert.equal(p.get(1024, 5), 'alpha');
      // A buffer that ends mid-entry: filled exactly, and nothing past it touched.
      p.bytes.fill(0xaa, 3000, 3200);
      assert.equal(p.fd_readdir!(3, 3000, 30, 0n, 0), OK);
      assert.equal(p.view.getUint32(0, true), 30);
      assert.ok(p.bytes.subarray(3030, 3200).every((b) => b === 0xaa));
      // The padding inside the header is zero, never stale host bytes.
      assert.deepEqual([...p.bytes.subarray(3021, 3024)], [0, 0, 0]);
      assert.equal(p.fd_readdir!(1, 3000, 30, 0n, 0), Errno.BADF);
    });
  });

  it('path_readlink truncates into a short buffer', async (t) => {
    const dir = tempDir(t);
    symlinkSync('some/long/target', join(dir, 'link'));
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const len = p.put(200, 'link');
      assert.equal(p.path_readlink!(3, 200, len, 300, 4, 0), OK);
      assert.equal(p.view.getUint32(0, true), 4);
      assert.equal(p.get(300, 4), 'some');
      assert.equal(p.path_readlink!(3, 200, len, 300, 100, 0), OK);
      assert.equal(p.get(300, 16), 'some/long/target');
    });
  });

  it('paths: NUL bytes are EILSEQ, invalid UTF-8 is EILSEQ, absolute paths are EPERM', async (t) => {
    const dir = tempDir(t);
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const nul = p.put(200, 'a\0b');
      assert.equal(p.path_create_directory!(3, 200, nul), Errno.ILSEQ);
      p.put(300, Uint8Array.of(0xc3, 0x28));
      assert.equal(p.path_create_directory!(3, 300, 2), Errno.ILSEQ);
      const abs = p.put(400, '/etc');
      assert.equal(p.path_create_directory!(3, 400, abs), Errno.PERM);
      assert.equal(p.path_create_directory!(3, 400, 0), Errno.NOENT);
    });
    assert.ok(!existsSync(join(dir, 'a')));
  });

  it('timestamps: set in nanoseconds, and ATIM with ATIM_NOW together is EINVAL', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'f'), 'x');
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const len = p.put(200, 'f');
      const mtime = 1_600_000_000_123_456_000n;
      assert.equal(p.path_filestat_set_times!(3, 0, 200, len, 0n, mtime, 4), OK);
      assert.equal(p.path_filestat_get!(3, 0, 200, len, 1000), OK);
      assert.equal(p.view.getBigUint64(1000 + 48, true), mtime);
      assert.equal(p.view.getBigUint64(1000 + 32, true), 1n);
      assert.equal(p.view.getUint8(1000 + 16), 4);
      assert.equal(p.path_filestat_set_times!(3, 0, 200, len, 0n, 0n, 1 | 2), Errno.INVAL);
    });
  });

  it('poll_oneoff: zero subscriptions is EINVAL; a clock subscription sleeps and reports', async () => {
    await withProbe({ clock: { kind: 'real' } }, (p) => {
      assert.equal(p.poll_oneoff!(0, 1000, 0, 2000), Errno.INVAL);
      p.view.setBigUint64(0, 42n, true);  // userdata
      p.view.setUint8(8, 0);               // clock
      p.view.setUint32(16, 1, true);       // monotonic
      p.view.setBigUint64(24, 2_000_000n, true); // 2 ms
      assert.equal(p.poll_oneoff!(0, 1000, 1, 2000), OK);
      assert.equal(p.view.getUint32(2000, true), 1);
      assert.equal(p.view.getBigUint64(1000, true), 42n);
      assert.equal(p.view.getUint16(1008, true), 0);
    });
  });

  it('fd_seek on stdio is ESPIPE, fd_allocate is ENOTSUP, bad whence is EINVAL', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'f'), 'abc');
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      assert.equal(p.fd_seek!(1, 0n, 0, 0), Errno.SPIPE);
      const len = p.put(200, 'f');
      assert.equal(p.path_open!(3, 0, 200, len, 0, (1n << 1n) | (1n << 6n), 0n, 0, 0), OK);
      const fd = p.view.getUint32(0, true);
      assert.equal(p.fd_seek!(fd, 0n, 7, 8), Errno.INVAL);
      assert.equal(p.fd_seek!(fd, -5n, 0, 8), Errno.INVAL);
      assert.equal(p.fd_seek!(fd, 0n, 2, 8), OK);
      assert.equal(p.view.getBigUint64(8, true), 3n);
      assert.equal(p.fd_allocate!(fd, 0n, 10n), Errno.NOTSUP);
    });
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'abc');
  });

  it('a write that moved bytes before the quota stopped it reports them, as writev does; the next one is EDQUOT', async (t) => {
    const dir = tempDir(t);
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }], limits: { maxWriteBytes: 10 } }, (p) => {
      const name = p.put(200, 'f');
      assert.equal(p.path_open!(3, 0, 200, name, 1, RIGHTS.FD_READ | RIGHTS.FD_WRITE, 0n, 0, 100), OK);
      const fd = p.view.getUint32(100, true);
      p.put(300, '0123456789abcdef');
      // Two iovecs, as C stdio writes its buffer and the caller's data: the first fills the quota.
      p.view.setUint32(400, 300, true);
      p.view.setUint32(404, 10, true);
      p.view.setUint32(408, 310, true);
      p.view.setUint32(412, 6, true);
      assert.equal(p.fd_write!(fd, 400, 2, 0), OK);
      assert.equal(p.view.getUint32(0, true), 10);
      assert.equal(p.fd_tell!(fd, 8), OK);
      assert.equal(p.view.getBigUint64(8, true), 10n);
      // Nothing more fits: now the error.
      assert.equal(p.fd_write!(fd, 408, 1, 0), Errno.DQUOT);
      assert.equal(p.fd_pwrite!(fd, 400, 2, 10n, 0), Errno.DQUOT);
    });
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), '0123456789');
  });

  it('reads unsigned arguments as unsigned: whence and advice past their values are EINVAL, a cookie past 2^63 lists nothing', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'f'), 'abc');
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const name = p.put(200, 'f');
      assert.equal(p.path_open!(3, 0, 200, name, 0, RIGHTS.FD_READ, 0n, 0, 100), OK);
      const fd = p.view.getUint32(100, true);
      // whence and advice are u8 values passed as i32: -1 is 0xffffffff, no whence nor advice.
      assert.equal(p.fd_seek!(fd, 0n, -1, 8), Errno.INVAL);
      assert.equal(p.fd_tell!(fd, 8), OK);
      assert.equal(p.view.getBigUint64(8, true), 0n);
      assert.equal(p.fd_advise!(fd, 0n, 0n, -1), Errno.INVAL);
      // The cookie is a u64 arriving as a signed i64: 2^64 - 1 is -1 here, and is past every entry.
      assert.equal(p.fd_readdir!(3, 1000, 500, -1n, 0), OK);
      assert.equal(p.view.getUint32(0, true), 0);
      assert.equal(p.fd_readdir!(3, 1000, 500, -(1n << 63n), 0), OK);
      assert.equal(p.view.getUint32(0, true), 0);
      assert.equal(p.fd_readdir!(3, 1000, 500, 0n, 0), OK);
      assert.ok(p.view.getUint32(0, true) > 0);
    });
  });

  it('fd_fdstat_get reports the rights of each kind of descriptor; set_rights can change none of them', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'f'), 'data');
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const rightsOf = (fd: number) => {
        assert.equal(p.fd_fdstat_get!(fd, 0), OK);
        return [p.view.getUint8(0), p.view.getBigUint64(8, true), p.view.getBigUint64(16, true)];
      };
      // The values Wasmtime 49 reports (measured with tools/wasmtime-oracle.py).
      assert.deepEqual(rightsOf(3), [3, 0x7b7fe00n, 0xff7ffffn]);
      assert.deepEqual(rightsOf(0).slice(1), [RIGHTS.FD_READ, RIGHTS.FD_READ]);
      assert.deepEqual(rightsOf(1).slice(1), [RIGHTS.FD_WRITE, RIGHTS.FD_WRITE]);
      const name = p.put(200, 'f');
      // Requested rights choose the mode: FD_READ alone opens read-only, whatever else is asked.
      assert.equal(p.path_open!(3, 0, 200, name, 0, RIGHTS.FD_READ | RIGHTS.FD_FILESTAT_SET_SIZE, 0n, 0, 100), OK);
      const file = p.view.getUint32(100, true);
      assert.deepEqual(rightsOf(file).slice(1), [ALL_RIGHTS & ~RIGHTS.FD_WRITE, ALL_RIGHTS & ~RIGHTS.FD_WRITE]);
      // No right can be dropped, so none can be regained either.
      assert.equal(p.fd_fdstat_set_rights!(file, 0n, 0n), Errno.NOTSUP);
      assert.equal(p.fd_fdstat_set_rights!(3, 0n, 0n), Errno.NOTSUP);
      assert.equal(p.fd_fdstat_set_rights!(1, 0n, 0n), Errno.BADF);
      assert.equal(p.fd_fdstat_set_rights!(99, 0n, 0n), Errno.BADF);
      // What the rights say is what the calls do.
      p.put(300, 'x');
      p.view.setUint32(400, 300, true);
      p.view.setUint32(404, 1, true);
      assert.equal(p.fd_write!(file, 400, 1, 0), Errno.BADF);
      assert.equal(p.fd_write!(file, 400, 0, 0), Errno.BADF);
      assert.equal(p.fd_filestat_set_size!(file, 0n), Errno.INVAL);
      assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'data');
      // Unknown rights bits are refused.
      assert.equal(p.path_open!(3, 0, 200, name, 0, 1n << 40n, 0n, 0, 100), Errno.INVAL);
      // A directory is never opened for writing.
      const sub = p.put(200, 'sub');
      assert.equal(p.path_open!(3, 0, 200, sub, 2, RIGHTS.FD_READ | RIGHTS.FD_WRITE, 0n, 0, 100), Errno.ISDIR);
      assert.equal(p.path_open!(3, 0, 200, sub, 2, 0n, 0n, 0, 100), OK);
      assert.deepEqual(rightsOf(p.view.getUint32(100, true)).slice(1), [0x3fb7ffbbn, 0x3fb7ffbbn]);
    });
  });
});
