// A tenant's storage quota. The WASI layer bounds what one run writes; across
// runs the server keeps the tally: the root's disk use measured once (blocks,
// symlinks not followed), then each run's written bytes added. Deletions are
// seen when the tally reaches the quota and the root is measured again (at most
// every 5 s, since a walk runs on the event loop). Over quota, the tenant's
// runs get its root read-only until it is back under.

import { lstatSync, readdirSync } from 'node:fs';

/** Entries visited at most in one measurement (a root with more counts as full). */
const MAX_ENTRIES = 200_000;

export function measureDiskUse(root: string): number {
  let total = 0;
  let visited = 0;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (++visited > MAX_ENTRIES) return Number.MAX_SAFE_INTEGER;
      const path = `${dir}/${name}`;
      let stat;
      try {
        stat = lstatSync(path);
      } catch {
        continue;
      }
      total += stat.blocks * 512;
      if (stat.isDirectory()) stack.push(path);
    }
  }
  return total;
}

/** A full root is measured again at most this often: each walk runs on the server's event loop. */
const REMEASURE_MS = 5000;

export class StorageMeter {
  private used: number | null = null;
  private measuredAt = 0;

  constructor(private readonly root: string, private readonly quota: number, private readonly now: () => number = Date.now) {}

  /** True when the tenant's root holds its quota or more. */
  full(): boolean {
    if (this.used === null) this.measure();
    if (this.used! < this.quota) return false;
    // A tenant at its quota cannot make every request walk its root again.
    if (this.now() - this.measuredAt < REMEASURE_MS) return true;
    this.measure();
    return this.used! >= this.quota;
  }

  private measure(): void {
    this.used = measureDiskUse(this.root);
    this.measuredAt = this.now();
  }

  /** Adds what a run wrote (an upper bound: overwrites count again until the next measurement). */
  wrote(bytes: number, filesCreated: number): void {
    if (this.used === null) return;
    this.used += bytes + filesCreated * 4096;
  }

  get usedBytes(): number {
    if (this.used === null) this.measure();
    return this.used!;
  }
}
