// File timestamps as a timer: what fd_filestat_get/path_filestat_get show of
// the host's stamps under each clock policy, and that what the guest set
// reads back exactly as set.

import assert from 'node:assert/strict';
import { statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compileGrant } from '../../src/policy/compile-grant.js';
import { parsePolicy } from '../../src/policy/load.js';
import { createClocks, type ClockPolicy } from '../../src/wasi/clocks.js';
import { Errno } from '../../src/wasi/errno.js';
import { tempDir } from '../helpers/tmp.js';
import { withProbe, type Probe } from './probe.js';

const OK = Errno.SUCCESS;
const ALL_RIGHTS = (1n << 29n) - 1n;
const FSTFLAGS = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 };
const CREAT = 1;
/** FD_READ, FD_FILESTAT_GET, FD_FILESTAT_SET_TIMES: what a read-only open may ask for. */
const READ_RIGHTS = (1n << 1n) | (1n << 21n) | (1n << 23n);

/** Opens (creating) `name` in preopen 3 for reading and writing; returns the descriptor. */
function openFile(p: Probe, name: string, oflags = CREAT, rights = ALL_RIGHTS): number {
  const len = p.put(200, name);
  assert.equal(p.path_open!(3, 0, 200, len, oflags, rights, 0n, 0, 0), OK);
  return p.view.getUint32(0, true);
}

/** [atim, mtim, ctim] from fd_filestat_get. */
function stamps(p: Probe, fd: number): [bigint, bigint, bigint] {
  assert.equal(p.fd_filestat_get!(fd, 512), OK);
  return [p.view.getBigUint64(512 + 40, true), p.view.getBigUint64(512 + 48, true), p.view.getBigUint64(512 + 56, true)];
}

/** Writes one byte through `fd`. */
function writeByte(p: Probe, fd: number): void {
  p.view.setUint32(16, 100, true);
  p.view.setUint32(20, 1, true);
  assert.equal(p.fd_write!(fd, 16, 1, 24), OK);
}

function realtime(p: Probe): bigint {
  assert.equal(p.clock_time_get!(0, 0n, 32), OK);
  return p.view.getBigUint64(32, true);
}

const mount = (host: string) => [{ host, guest: '/d', readOnly: false }];

describe('file timestamps under the clock policy', () => {
  it('coarse: 2,000 stamps after 1-byte writes step no finer than the resolution', async (t) => {
    const dir = tempDir(t);
    const resolution = 1_000_000n;
    const seen = new Set<bigint>();
    await withProbe({ mounts: mount(dir), clock: { kind: 'coarse', resolutionNs: resolution } }, (p) => {
      const fd = openFile(p, 'timer');
      for (let i = 0; i < 2000; i++) {
        writeByte(p, fd);
        const [, mtim, ctim] = stamps(p, fd);
        for (const stamp of [mtim, ctim]) {
          assert.equal(stamp % resolution, 0n, `a stamp finer than the resolution: ${stamp}`);
          seen.add(stamp);
        }
      }
      // And no later than the clock the guest was granted.
      const [, mtim] = stamps(p, fd);
      assert.ok(mtim <= realtime(p));
    });
    const sorted = [...seen].sort((a, b) => (a < b ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]! - sorted[i - 1]! >= resolution);
    assert.ok(sorted.length < 2000, `${sorted.length} distinct stamps in 2,000 samples`);
  });

  for (const clock of [{ kind: 'coarse', resolutionNs: 1_000_000n }, { kind: 'virtual', stepNs: 1_000_000n }] as ClockPolicy[]) {
    it(`${clock.kind}: a stamp reads the same every time, however long after it is read again`, async (t) => {
      const dir = tempDir(t);
      await withProbe({ mounts: mount(dir), clock }, (p) => {
        const fd = openFile(p, 'steady');
        for (let i = 0; i < 20; i++) {
          writeByte(p, fd);
          const first = stamps(p, fd);
          // Let the clock move on by a few steps, then read again: nothing changed, nothing may move.
          const start = realtime(p);
          while (realtime(p) < start + 3_000_000n);
          assert.deepEqual(stamps(p, fd), first);
        }
      });
    });
  }

  it('coarse: a stamp the clock has not reached yet is held back to the clock, and stays there', async () => {
    const resolution = 50_000_000n;
    const clocks = createClocks({ kind: 'coarse', resolutionNs: resolution });
    const shown = clocks.now(0)!;
    // A stamp one tick ahead of what the clock shows (the host crossed an edge the jittered clock has not).
    const stamp = shown + resolution + 1n;
    assert.equal(clocks.fileTime(stamp), shown);
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(clocks.now(0)! > shown, 'the clock moved on');
    assert.equal(clocks.fileTime(stamp), shown, 'the same stamp moved');
    // A stamp the clock has passed reads floored.
    assert.equal(clocks.fileTime(shown + 123n), shown);
  });

  it('frozen: every stamp the host makes during the run reads as the frozen instant', async (t) => {
    const dir = tempDir(t);
    await withProbe({ mounts: mount(dir), clock: { kind: 'frozen' } }, (p) => {
      const frozen = realtime(p);
      const fd = openFile(p, 'f');
      for (let i = 0; i < 50; i++) {
        writeByte(p, fd);
        const [atim, mtim, ctim] = stamps(p, fd);
        assert.deepEqual([atim, mtim, ctim], [frozen, frozen, frozen]);
      }
    });
  });

  it('virtual: stamps made during the run read as the virtual clock, deterministically', async (t) => {
    const dir = tempDir(t);
    const policy: ClockPolicy = { kind: 'virtual', stepNs: 1_000_000n };
    const runOnce = async () => {
      const observed: bigint[] = [];
      await withProbe({ mounts: mount(dir), clock: policy }, (p) => {
        const fd = openFile(p, `v`);
        for (let i = 0; i < 20; i++) {
          writeByte(p, fd);
          observed.push(realtime(p), ...stamps(p, fd).slice(1));
        }
        p.fd_close!(fd);
        const len = p.put(200, 'v');
        assert.equal(p.path_unlink_file!(3, 200, len), OK);
      });
      return observed;
    };
    const first = await runOnce();
    // Each stamp is what the virtual clock said at the last read (it does not advance for a stat).
    for (let i = 0; i < first.length; i += 3) assert.deepEqual([first[i + 1], first[i + 2]], [first[i], first[i]]);
    assert.deepEqual(await runOnce(), first);
  });

  it('files from before the run keep their stamps, floored to the resolution', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'old'), 'x');
    utimesSync(join(dir, 'old'), 1_600_000_000.123456, 1_600_000_000.654321);
    await withProbe({ mounts: mount(dir), clock: { kind: 'coarse', resolutionNs: 1_000_000n } }, (p) => {
      const len = p.put(200, 'old');
      assert.equal(p.path_filestat_get!(3, 0, 200, len, 512), OK);
      assert.equal(p.view.getBigUint64(512 + 40, true), 1_600_000_000_123_000_000n);
      assert.equal(p.view.getBigUint64(512 + 48, true), 1_600_000_000_654_000_000n);
    });
  });

  it('no clock granted: files from before the run can be stat-ed, and stamps made during it read as the epoch', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'old'), 'x');
    utimesSync(join(dir, 'old'), 1_600_000_000.123456, 1_600_000_000.654321);
    // The grant a policy without `clock` compiles to (a policy file's default, and a tenant's).
    const grant = compileGrant(parsePolicy({ mount: [{ host: dir, guest: '/d', mode: 'rw' }] }), {}, () => { throw new Error('no scratch'); });
    await withProbe({ mounts: grant.mounts, clock: grant.clock }, (p) => {
      const len = p.put(200, 'old');
      assert.equal(p.path_filestat_get!(3, 0, 200, len, 512), OK);
      // Not a moment of this run: shown as the host has it, as under every other policy.
      assert.equal(p.view.getBigUint64(512 + 48, true), statSync(join(dir, 'old'), { bigint: true }).mtimeNs);
      const fd = openFile(p, 'new');
      writeByte(p, fd);
      assert.deepEqual(stamps(p, fd), [0n, 0n, 0n]);
    });
  });

  for (const clock of [{ kind: 'real' }, { kind: 'coarse', resolutionNs: 1_000_000n }, { kind: 'frozen' }, { kind: 'virtual', stepNs: 1000n }] as ClockPolicy[]) {
    it(`${clock.kind}: what the guest sets reads back exactly, through fd and path calls`, async (t) => {
      const dir = tempDir(t);
      await withProbe({ mounts: mount(dir), clock }, (p) => {
        const fd = openFile(p, 'set');
        const atim = 1_234_567_890_123_456_789n;
        const mtim = 1_600_000_000_000_000_001n;
        assert.equal(p.fd_filestat_set_times!(fd, atim, mtim, FSTFLAGS.ATIM | FSTFLAGS.MTIM), OK);
        const [a, m] = stamps(p, fd);
        assert.deepEqual([a, m], [atim, mtim]);
        const len = p.put(200, 'set');
        assert.equal(p.path_filestat_set_times!(3, 0, 200, len, 0n, mtim - 100n, FSTFLAGS.MTIM), OK);
        assert.equal(p.path_filestat_get!(3, 0, 200, len, 600), OK);
        assert.equal(p.view.getBigUint64(600 + 40, true), atim, 'atim kept');
        assert.equal(p.view.getBigUint64(600 + 48, true), mtim - 100n);
        // "Now" is the granted clock's now.
        assert.equal(p.fd_filestat_set_times!(fd, 0n, 0n, FSTFLAGS.MTIM_NOW), OK);
        const after = realtime(p);
        const [, now] = stamps(p, fd);
        if (clock.kind !== 'real') assert.ok(now <= after && now >= after - 10_000_000n, `${now} vs ${after}`);
        // A write afterwards is the host's stamp again, under the policy.
        writeByte(p, fd);
        const [, written] = stamps(p, fd);
        assert.notEqual(written, mtim - 100n);
      });
    });
  }

  it('a read-only mount refuses fd_filestat_set_times (EPERM, as Wasmtime) and the host file keeps its mtime', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'f'), 'x');
    utimesSync(join(dir, 'f'), 1_500_000_000, 1_500_000_000);
    const result = await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: true }] }, (p) => {
      const fd = openFile(p, 'f', 0, READ_RIGHTS);
      assert.equal(p.fd_filestat_set_times!(fd, 1n, 2n, FSTFLAGS.ATIM | FSTFLAGS.MTIM), Errno.PERM);
      assert.equal(p.fd_filestat_set_times!(fd, 0n, 0n, FSTFLAGS.ATIM_NOW | FSTFLAGS.MTIM_NOW), Errno.PERM);
      assert.equal(p.fd_filestat_set_times!(3, 1n, 2n, FSTFLAGS.ATIM | FSTFLAGS.MTIM), Errno.PERM);
      p.view.setUint32(16, 100, true);
      p.view.setUint32(20, 1, true);
      assert.equal(p.fd_write!(fd, 16, 1, 24), Errno.BADF);
      assert.equal(p.fd_pwrite!(fd, 16, 1, 0n, 24), Errno.BADF);
    });
    assert.equal(statSync(join(dir, 'f')).mtimeMs, 1_500_000_000_000);
    assert.ok(result.denied.some((d) => d.call === 'fd_filestat_set_times' && d.errno === 'PERM'));
  });
});
