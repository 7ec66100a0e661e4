// File times: exact to the nanosecond with the native helper, a time left
// alone left exactly alone; without it, microseconds, and it says so.

import assert from 'node:assert/strict';
import { lstatSync, openSync, closeSync, writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setFdTimes, setTimesAt, timestampPrecisionNs, useNativeTimestamps } from '../../../src/wasi/fs/timestamps.js';
import { tempDir } from '../../helpers/tmp.js';

const now = () => 7_000_000_007n;

function fixtureFile(t: Parameters<typeof tempDir>[0]): { dir: string; path: string } {
  const dir = tempDir(t);
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  // An atime with nanoseconds that microseconds cannot hold: set exactly below when the helper is there.
  utimesSync(path, 1_700_000_000.5, 1_700_000_000.5);
  return { dir, path };
}

describe('file times', () => {
  it('are set to the nanosecond, one at a time, when the native helper is built', (t) => {
    if (timestampPrecisionNs() !== 1) {
      t.skip('the native helper is not built here (no C compiler or Node headers)');
      return;
    }
    const { dir, path } = fixtureFile(t);
    const fd = openSync(path, 'r');
    t.after(() => closeSync(fd));
    setFdTimes(fd, { kind: 'set', ns: 1_700_000_000_123_456_789n }, { kind: 'keep' }, now);
    const before = lstatSync(path, { bigint: true });
    assert.equal(before.atimeNs, 1_700_000_000_123_456_789n);
    setFdTimes(fd, { kind: 'keep' }, { kind: 'set', ns: before.mtimeNs - 100n }, now);
    const after = lstatSync(path, { bigint: true });
    assert.equal(after.mtimeNs, before.mtimeNs - 100n);
    assert.equal(after.atimeNs, before.atimeNs);
    // By name beneath a descriptor, "now" being the run's clock.
    const dirFd = openSync(dir, 'r');
    t.after(() => closeSync(dirFd));
    setTimesAt(dirFd, 'f', `/proc/self/fd/${dirFd}/f`, { kind: 'keep' }, { kind: 'now' }, now);
    assert.equal(lstatSync(path, { bigint: true }).mtimeNs, 7_000_000_007n);
    assert.equal(lstatSync(path, { bigint: true }).atimeNs, 1_700_000_000_123_456_789n);
    // The helper takes one name, nothing it would resolve itself.
    assert.throws(() => setTimesAt(dirFd, '../f', `/proc/self/fd/${dirFd}/../f`, { kind: 'now' }, { kind: 'now' }, now), { code: 'EINVAL' });
    assert.throws(() => setTimesAt(dirFd, 'f\0x', `/proc/self/fd/${dirFd}/f`, { kind: 'now' }, { kind: 'now' }, now), { code: 'EINVAL' });
    assert.throws(() => setTimesAt(dirFd, 'x'.repeat(256), `/proc/self/fd/${dirFd}/x`, { kind: 'now' }, { kind: 'now' }, now), { code: 'ENAMETOOLONG' });
  });

  it('fall back to microseconds through Node, and report that precision', (t) => {
    const { path } = fixtureFile(t);
    useNativeTimestamps(false);
    t.after(() => useNativeTimestamps(true));
    assert.equal(timestampPrecisionNs(), 1000);
    const fd = openSync(path, 'r');
    t.after(() => closeSync(fd));
    setFdTimes(fd, { kind: 'keep' }, { kind: 'set', ns: 1_700_000_000_123_456_789n }, now);
    const after = lstatSync(path, { bigint: true });
    assert.equal(after.mtimeNs % 1000n, 0n);
    assert.ok(after.mtimeNs - 1_700_000_000_123_456_789n < 1000n && 1_700_000_000_123_456_789n - after.mtimeNs < 1000n);
  });
});
