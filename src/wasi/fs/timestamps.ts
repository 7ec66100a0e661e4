// Setting file timestamps. Node's utimes family takes seconds as a double and
// libuv cuts them to microseconds, and it cannot leave one of the two times
// untouched; preview1 sets nanoseconds and may change just one. A small
// native helper (native/timestamps.c, built by tools/build-native.js) calls
// futimens/utimensat with exact times and UTIME_OMIT. Without it the times
// go through Node: to the microsecond, and a time left as it is gets
// rewritten with its own value rounded. docs/RATIONALE.md has the numbers.

import { fstatSync, lstatSync, lutimesSync, utimesSync } from 'node:fs';
import type { TimeUpdate } from './types.js';
import { loadNativeHelper } from './native-helper.js';

interface NativeTimes {
  setFdTimes(fd: number, atimeNs: bigint | null, mtimeNs: bigint | null): void;
  setTimesAt(dirFd: number, name: string, atimeNs: bigint | null, mtimeNs: bigint | null): void;
}

let native: NativeTimes | null | undefined;
let enabled = true;

function loadNative(): NativeTimes | null {
  if (native === undefined) native = loadNativeHelper<NativeTimes>('timestamps.node');
  return native;
}

/** The finest step a set timestamp keeps: 1 ns with the native helper, 1000 ns without. */
export function timestampPrecisionNs(): number {
  return enabled && loadNative() ? 1 : 1000;
}

/** Turns the native helper off or back on (tests measure the fallback with it). */
export function useNativeTimestamps(on: boolean): void {
  enabled = on;
}

function nsOf(update: TimeUpdate, now: () => bigint): bigint | null {
  return update.kind === 'keep' ? null : update.kind === 'now' ? now() : update.ns;
}

function seconds(update: TimeUpdate, current: bigint, now: () => bigint): number {
  return Number(nsOf(update, now) ?? current) / 1e9;
}

/** Sets the times of an open descriptor. */
export function setFdTimes(fd: number, atim: TimeUpdate, mtim: TimeUpdate, now: () => bigint): void {
  const helper = enabled ? loadNative() : null;
  if (helper) return helper.setFdTimes(fd, nsOf(atim, now), nsOf(mtim, now));
  const stat = fstatSync(fd, { bigint: true });
  // By /proc/self/fd path rather than futimes: Node's permission model (process isolation)
  // refuses futimes but allows the paths a writable mount is reached through.
  utimesSync(`/proc/self/fd/${fd}`, seconds(atim, stat.atimeNs, now), seconds(mtim, stat.mtimeNs, now));
}

/**
 * Sets the times of `name` in the directory `dirFd` without following a final
 * symlink. `name` is one component (or '.') the caller resolved beneath its
 * preopen; `procPath` is the same entry as a /proc/self/fd path for Node.
 */
export function setTimesAt(dirFd: number, name: string, procPath: string, atim: TimeUpdate, mtim: TimeUpdate, now: () => bigint): void {
  const helper = enabled ? loadNative() : null;
  if (helper) return helper.setTimesAt(dirFd, name, nsOf(atim, now), nsOf(mtim, now));
  const stat = lstatSync(procPath, { bigint: true });
  lutimesSync(procPath, seconds(atim, stat.atimeNs, now), seconds(mtim, stat.mtimeNs, now));
}
