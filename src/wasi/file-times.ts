// What the guest sees of file timestamps. The host stamps atim/mtim/ctim with
// its own fine clock whenever the guest writes, reads or renames: reading
// them back after a 1-byte write would be a microsecond timer that the clock
// policy never granted. So timestamps the host produced are passed through
// the run's clock policy (Clocks.fileTime), while a timestamp the guest set
// itself reads back exactly as set: it tells the guest nothing new, and
// preview1 programs check that what they set is what they get.

import type { Clocks } from './clocks.js';
import type { FileStat } from './fs/types.js';

/** At most this many files' guest-set timestamps are remembered per run (oldest forgotten first). */
const MAX_REMEMBERED = 4096;

interface SetStamp {
  /** What the host stored (it may have rounded the guest's value). */
  host: bigint;
  /** What the guest asked for. */
  guest: bigint;
}

interface Remembered {
  atim?: SetStamp;
  mtim?: SetStamp;
}

/** The timestamps one run's guest set, by file identity (device and inode). */
export class GuestSetTimes {
  private readonly byFile = new Map<string, Remembered>();

  /**
   * Records what the guest set (`atim`/`mtim` undefined: left as it was) and
   * what the host then stored, read back from `after`.
   */
  remember(after: FileStat, atim: bigint | undefined, mtim: bigint | undefined): void {
    const key = `${after.dev}:${after.ino}`;
    const entry = this.byFile.get(key) ?? {};
    this.byFile.delete(key);
    if (atim !== undefined) entry.atim = { host: after.atim, guest: atim };
    if (mtim !== undefined) entry.mtim = { host: after.mtim, guest: mtim };
    if (this.byFile.size >= MAX_REMEMBERED) this.byFile.delete(this.byFile.keys().next().value!);
    this.byFile.set(key, entry);
  }

  /**
   * The stat's timestamps as the guest may see them, written little-endian at
   * `at` (atim), `at + 8` (mtim) and `at + 16` (ctim): its own settings exact,
   * everything else through the clock policy. Written in place, as filestats
   * are on every stat call: no copy of the stat per call.
   */
  writeObserved(view: DataView, at: number, stat: FileStat, clocks: Clocks): void {
    const entry = this.byFile.size === 0 ? undefined : this.byFile.get(`${stat.dev}:${stat.ino}`);
    const atim = entry?.atim !== undefined && entry.atim.host === stat.atim ? entry.atim.guest : clocks.fileTime(stat.atim);
    const mtim = entry?.mtim !== undefined && entry.mtim.host === stat.mtim ? entry.mtim.guest : clocks.fileTime(stat.mtim);
    view.setBigUint64(at, atim, true);
    view.setBigUint64(at + 8, mtim, true);
    view.setBigUint64(at + 16, clocks.fileTime(stat.ctim), true);
  }
}

const perRun = new WeakMap<Clocks, GuestSetTimes>();

/**
 * The record for the run these clocks belong to. Each run builds its own
 * Clocks, so the record lives and dies with the run and nothing of one run's
 * settings is visible to the next.
 */
export function guestSetTimes(clocks: Clocks): GuestSetTimes {
  let record = perRun.get(clocks);
  if (!record) perRun.set(clocks, (record = new GuestSetTimes()));
  return record;
}
