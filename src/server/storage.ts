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

import { closeSync, constants, fstat, fstatSync, lstatSync, open, openSync, readdirSync, close as closeCallback } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { promisify } from 'node:util';

/** Entries visited at most in one measurement (a root with more counts as full). */
const MAX_ENTRIES = 200_000;

const O_DIRECTORY_ONLY = constants.O_RDONLY | constants.O_DIRECTORY;

/** A directory the walk holds open, and which directory it is (to recognise it again from below). */
interface Held { fd: number; dev: number; ino: number }

/**
 * A step of the walk, over held descriptors: every name is looked up in a directory
 * the walk holds (`/proc/self/fd/<fd>/<name>`), so no path grows with depth. The
 * answer is null when the call failed.
 */
export type Step =
  | { openRoot: string }
  | { openChild: number; name: string }
  | { openParent: number }
  | { list: number }
  | { stat: number; name: string }
  | { close: number };
type Stat = { blocks: number; size: number; isDirectory(): boolean };
export type Answer = Held | string[] | Stat | null | void;

/** Where the walk is in one directory: its entries, the next to look at, and its identity. */
interface Level { names: string[]; next: number; dev: number; ino: number }

/**
 * The one walk both measurements share, written once as a generator: it asks
 * for each open, listing and lstat, and the sync and async drivers below answer
 * with the fs calls of their kind. Returns the storage in bytes; past
 * MAX_ENTRIES entries, Number.MAX_SAFE_INTEGER (a root that large counts as
 * full rather than making the host walk without end).
 *
 * It walks by descriptors, holding one directory at a time and climbing back
 * through `..`: a walk by path stops at PATH_MAX (ENAMETOOLONG), and a guest
 * nests directories past it from descriptors it holds, so whatever it kept down
 * there went uncounted and the tenant stored past its quota. Holding every
 * level instead would cost a descriptor per level of a tree as deep as the
 * tenant likes. Climbing is checked: the `..` reached must be the directory the
 * walk came down from (device and inode), else the tree moved under the walk
 * (a tenant renaming directories while measured) and `..` may lead anywhere,
 * even above the root; the root then counts as full until the next measurement.
 */
export function* diskUseWalk(root: string): Generator<Step, number, Answer> {
  const top = (yield { openRoot: root }) as Held | null;
  if (!top) return 0;
  let fd = top.fd;
  const levels: Level[] = [{ names: ((yield { list: fd }) as string[] | null) ?? [], next: 0, dev: top.dev, ino: top.ino }];
  let total = 0;
  let visited = 0;
  while (true) {
    const level = levels[levels.length - 1]!;
    if (level.next < level.names.length) {
      const name = level.names[level.next++]!;
      if (++visited > MAX_ENTRIES) {
        yield { close: fd };
        return Number.MAX_SAFE_INTEGER;
      }
      const stat = (yield { stat: fd, name }) as Stat | null;
      if (!stat) continue;
      // Counted as the WASI write quota charges a file: the larger of its blocks and its
      // apparent size. Blocks alone let a tenant grow files by truncation (charged to each
      // run, forgotten by the next measurement: holes hold no blocks) and later fill the
      // holes for nothing, since the quota counts a file's existing size as already kept.
      total += Math.max(stat.blocks * 512, stat.size);
      if (!stat.isDirectory()) continue;
      // Opened without following a link: a directory swapped for a symlink since the lstat is not entered.
      const child = (yield { openChild: fd, name }) as Held | null;
      if (!child) continue;
      yield { close: fd };
      fd = child.fd;
      levels.push({ names: ((yield { list: fd }) as string[] | null) ?? [], next: 0, dev: child.dev, ino: child.ino });
      continue;
    }
    levels.pop();
    if (levels.length === 0) {
      yield { close: fd };
      return total;
    }
    const parent = (yield { openParent: fd }) as Held | null;
    yield { close: fd };
    const expected = levels[levels.length - 1]!;
    if (!parent) return Number.MAX_SAFE_INTEGER;
    fd = parent.fd;
    if (parent.dev !== expected.dev || parent.ino !== expected.ino) {
      yield { close: fd };
      return Number.MAX_SAFE_INTEGER;
    }
  }
}

const inHeld = (fd: number, name = ''): string => `/proc/self/fd/${fd}${name ? `/${name}` : ''}`;

function orNull<T>(call: () => T): T | null {
  try {
    return call();
  } catch {
    return null;
  }
}

function heldSync(path: string, flags: number): Held | null {
  const fd = orNull(() => openSync(path, flags));
  if (fd === null) return null;
  const stat = orNull(() => fstatSync(fd));
  if (!stat) {
    closeSync(fd);
    return null;
  }
  return { fd, dev: stat.dev, ino: stat.ino };
}

/** Answers one step of the walk with synchronous fs calls (exported for the tests that move a tree under a walk). */
export function answerSync(ask: Step): Answer {
  if ('openRoot' in ask) return heldSync(ask.openRoot, O_DIRECTORY_ONLY);
  if ('openChild' in ask) return heldSync(inHeld(ask.openChild, ask.name), O_DIRECTORY_ONLY | constants.O_NOFOLLOW);
  if ('openParent' in ask) return heldSync(inHeld(ask.openParent, '..'), O_DIRECTORY_ONLY);
  if ('list' in ask) return orNull(() => readdirSync(inHeld(ask.list)));
  if ('stat' in ask) return orNull(() => lstatSync(inHeld(ask.stat, ask.name)));
  orNull(() => closeSync(ask.close));
}

export function measureDiskUse(root: string): number {
  const walk = diskUseWalk(root);
  let step = walk.next(null);
  while (!step.done) step = walk.next(answerSync(step.value));
  return step.value;
}

const openAsync = promisify(open);
const fstatAsync = promisify(fstat);
const closeAsync = promisify(closeCallback);

async function heldAsync(path: string, flags: number): Promise<Held | null> {
  const fd = await openAsync(path, flags).catch(() => null);
  if (fd === null) return null;
  const stat = await fstatAsync(fd).catch(() => null);
  if (!stat) {
    await closeAsync(fd).catch(() => {});
    return null;
  }
  return { fd, dev: stat.dev, ino: stat.ino };
}

async function answerAsync(ask: Step): Promise<Answer> {
  if ('openRoot' in ask) return heldAsync(ask.openRoot, O_DIRECTORY_ONLY);
  if ('openChild' in ask) return heldAsync(inHeld(ask.openChild, ask.name), O_DIRECTORY_ONLY | constants.O_NOFOLLOW);
  if ('openParent' in ask) return heldAsync(inHeld(ask.openParent, '..'), O_DIRECTORY_ONLY);
  if ('list' in ask) return readdir(inHeld(ask.list)).catch(() => null);
  if ('stat' in ask) return lstat(inHeld(ask.stat, ask.name)).catch(() => null);
  await closeAsync(ask.close).catch(() => {});
}

/** The same walk off the event loop (each open, listing and lstat on libuv's pool). */
export async function measureDiskUseAsync(root: string): Promise<number> {
  const walk = diskUseWalk(root);
  let step = walk.next(null);
  while (!step.done) step = walk.next(await answerAsync(step.value));
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
