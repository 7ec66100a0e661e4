// Setting one file time: the native helper (futimens / utimensat, exact, one
// time left alone) beside Node's futimes / lutimes (microseconds, and a stat
// first to re-set the time left alone), interleaved in one process.
//
//   npm run build && node dist/bench/timestamps.js [--runs 9]

import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFdTimes, setTimesAt, timestampPrecisionNs, useNativeTimestamps } from '../src/wasi/fs/timestamps.js';
import { argValue, median, table } from './stats.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
writeFileSync(join(dir, 'f'), 'x');
const fd = openSync(join(dir, 'f'), 'r');
const dirFd = openSync(dir, 'r');
const now = () => 0n;
const calls = 20_000;
const runs = argValue('runs', 9);
if (timestampPrecisionNs() !== 1) throw new Error('the native helper is not built (node tools/build-native.js)');

/** ns per call over `calls` calls. */
function perCall(native: boolean, byName: boolean): number {
  useNativeTimestamps(native);
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const mtim = { kind: 'set' as const, ns: 1_700_000_000_000_000_000n + BigInt(i) };
    if (byName) setTimesAt(dirFd, 'f', `/proc/self/fd/${dirFd}/f`, { kind: 'keep' }, mtim, now);
    else setFdTimes(fd, { kind: 'keep' }, mtim, now);
  }
  return Number(process.hrtime.bigint() - start) / calls;
}

const samples = { nativeFd: [] as number[], nodeFd: [] as number[], nativeAt: [] as number[], nodeAt: [] as number[] };
for (let r = 0; r < runs; r++) {
  samples.nativeFd.push(perCall(true, false));
  samples.nodeFd.push(perCall(false, false));
  samples.nativeAt.push(perCall(true, true));
  samples.nodeAt.push(perCall(false, true));
}
useNativeTimestamps(true);
closeSync(fd);
closeSync(dirFd);
rmSync(dir, { recursive: true, force: true });
console.log(`setting mtime, atime left alone: ${calls} calls x ${runs} interleaved runs (median ns per call)\n`);
console.log(table(['call', 'native helper', 'through Node', 'native / Node'], [
  ['by descriptor (fd_filestat_set_times)', median(samples.nativeFd).toFixed(0), median(samples.nodeFd).toFixed(0), (median(samples.nativeFd) / median(samples.nodeFd)).toFixed(2)],
  ['by name (path_filestat_set_times)', median(samples.nativeAt).toFixed(0), median(samples.nodeAt).toFixed(0), (median(samples.nativeAt) / median(samples.nodeAt)).toFixed(2)],
]));
