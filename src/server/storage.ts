// A tenant's storage quota. The WASI layer bounds what one run writes; across
// runs the server keeps the tally: the root's disk use measured once (each
// entry the larger of its blocks and its apparent size, symlinks not
// followed), then each run's written bytes added. Over quota, the
// tenant's runs get its root shrink-only (writable, but a write quota of 0
// bytes and 0 new files: it may remove and truncate, not grow), and the root
// is measured again after each such run (off the event loop, one walk at a
// time, at most once a second), so a tenant that deletes its way back under
// the quota may write again. Otherwise a full root is measured again at most
// every 5 s (that walk runs on the event loop).

import { lstatSync, readdirSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';

/** Entries visited at most in one measurement (a root with more counts as full). */
const MAX_ENTRIES = 200_000;

/** A step of the walk: list a directory, or lstat an entry. The answer is null when the call failed (the entry is skipped). */
type Step = { list: string } | { stat: string };
type Answer = string[] | { blocks: number; size: number; isDirectory(): boolean } | null;

/**
 * The one walk both measurements share, written once as a generator: it asks
 * for each directory listing and each lstat, and the sync and async drivers
 * below answer with the fs calls of their kind. Returns the storage in bytes;
 * past MAX_ENTRIES entries, Number.MAX_SAFE_INTEGER (a root that large counts
 * as full rather than making the host walk without end).
 */
function* diskUseWalk(root: string): Generator<Step, number, Answer> {
  let total = 0;
  let visited = 0;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const names = (yield { list: dir }) as string[] | null;
    if (!names) continue;
    for (const name of names) {
      if (++visited > MAX_ENTRIES) return Number.MAX_SAFE_INTEGER;
      const path = `${dir}/${name}`;
      const stat = (yield { stat: path }) as { blocks: number; size: number; isDirectory(): boolean } | null;
      if (!stat) continue;
      // Counted as the WASI write quota charges a file: the larger of its blocks and its
      // apparent size. Blocks alone let a tenant grow files by truncation (charged to each
      // run, forgotten by the next measurement: holes hold no blocks) and later fill the
      // holes for nothing, since the quota counts a file's existing size as already kept.
      total += Math.max(stat.blocks * 512, stat.size);
      if (stat.isDirectory()) stack.push(path);
    }
  }
  return total;
}

function orNull<T>(call: () => T): T | null {
  try {
    return call();
  } catch {
    return null;
  }
}

export function measureDiskUse(root: string): number {
  const walk = diskUseWalk(root);
  let step = walk.next(null);
  while (!step.done) {
    const ask = step.value;
    step = walk.next('list' in ask ? orNull(() => readdirSync(ask.list)) : orNull(() => lstatSync(ask.stat)));
  }
  return step.value;
}

/** The same walk off the event loop (each directory read and lstat on libuv's pool). */
export async function measureDiskUseAsync(root: string): Promise<number> {
  const walk = diskUseWalk(root);
  let step = walk.next(null);
  while (!step.done) {
    const ask = step.value;
    step = walk.next('list' in ask ? await readdir(ask.list).catch(() => null) : await lstat(ask.stat).catch(() => null));
  }
  return step.value;
}

/** A full root is measured again at most this often: each walk runs on the server's event loop. */
const REMEASURE_MS = 5000;
/** After shrink-only runs the root is measured again at most this often (a walk costs the shared fs thread pool). */
const REMEASURE_AFTER_SHRINK_MS = 1000;

export class StorageMeter {
  private used: number | null = null;
  private measuredAt = 0;
  /** An off-loop measurement running, and bytes reported written while it runs (added to its answer). */
  private measuring = false;
  private writtenDuring = 0;
  /** Another shrink-only run ended while a measurement ran or was waiting: measure once more. */
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly root: string, private readonly quota: number, private readonly now: () => number = () => performance.now()) {}

  /**
   * Time since the last measurement. A reading before it (a clock stepped back) counts as long ago: read as
   * negative, a step back of an hour kept a full root from being measured again, shrink-only, for that hour.
   */
  private sinceMeasured(): number {
    const elapsed = this.now() - this.measuredAt;
    return elapsed < 0 ? Number.POSITIVE_INFINITY : elapsed;
  }

  /** True when the tenant's root holds its quota or more. */
  full(): boolean {
    if (this.used === null) this.measure();
    if (this.used! < this.quota) return false;
    // A tenant at its quota cannot make every request walk its root again.
    if (this.sinceMeasured() < REMEASURE_MS) return true;
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
    const added = bytes + filesCreated * 4096;
    this.used += added;
    if (this.measuring) this.writtenDuring += added;
  }

  /**
   * A shrink-only run ended: it may have removed or truncated files. Measures
   * the root again off the event loop, one walk at a time and at most once
   * per REMEASURE_AFTER_SHRINK_MS, so a tenant that deleted its way under the
   * quota gets its writable root back without a hostile one making the server
   * walk its root on every request.
   */
  mayHaveShrunk(): void {
    if (this.measuring || this.timer) { this.again = true; return; }
    const wait = REMEASURE_AFTER_SHRINK_MS - this.sinceMeasured();
    if (wait > 0) {
      this.timer = setTimeout(() => { this.timer = undefined; this.remeasure(); }, wait);
      this.timer.unref();
      return;
    }
    this.remeasure();
  }

  private remeasure(): void {
    this.measuring = true;
    this.writtenDuring = 0;
    this.again = false;
    const started = this.now();
    void measureDiskUseAsync(this.root).then((bytes) => {
      // Runs that ended during the walk may or may not be in it: counting them again only over-counts.
      this.used = bytes + this.writtenDuring;
      this.measuredAt = started;
    }, () => { /* kept as it was: the next shrink-only run tries again */ }).finally(() => {
      this.measuring = false;
      if (this.again) this.mayHaveShrunk();
    });
  }

  /** Stops a measurement waiting to start (the tenant is being replaced). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.again = false;
  }

  get usedBytes(): number {
    if (this.used === null) this.measure();
    return this.used!;
  }
}
