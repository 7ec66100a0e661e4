// Links a guest makes must not lead a host program that follows them out of
// the mount (wasm-warden's own walk never follows them out; whoever reads the
// tree on the host later might). A relative target may climb with a leading
// run of `..`, at most as many levels as the link sits below the mount's
// root; `..` after a name is refused, since it climbs from wherever that name
// leads on the host, which a link there can change (`a/l -> ..` and
// `m -> a/l/..` each stay inside alone, and leave together). With every link
// bounded by where it sits, no chain of them climbs out. Where a link sits is
// checked again whenever it moves: renamed, hard-linked, or carried along
// with a directory moved up the tree.

import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, unlinkSync } from 'node:fs';
import { WasiError } from '../errno.js';
import { ESCAPE } from './refusals.js';

const O_PATH = 0x200000;
const O_DIRECTORY = 0x10000;
const O_CLOEXEC = 0x80000;
const O_RDONLY = 0;
const O_NOFOLLOW = 0x20000;

/** A mount's root directory, by identity. */
export interface MountId {
  dev: bigint;
  ino: bigint;
}

/** How many levels a relative target climbs before descending; null when it may never be made (absolute, or `..` after a name). */
export function linkClimbs(target: string): number | null {
  if (target.startsWith('/')) return null;
  let climbs = 0;
  let named = false;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') named = true;
    else if (named) return null;
    else climbs++;
  }
  return climbs;
}

/** Whether `target`, written into a directory `depth` levels below the mount's root, stays beneath it. */
export function linkTargetStaysBeneath(target: string, depth: number): boolean {
  const climbs = linkClimbs(target);
  return climbs !== null && climbs <= depth;
}

/**
 * EPERM for a link target that would lead out. `depth` is counted from the
 * descriptor the path was resolved from; `handleDepth` tells how deep that
 * descriptor itself sits in the mount, asked only when the target climbs
 * further than `depth` (it costs a walk up the tree).
 */
export function refuseLinkLeadingOut(target: string, depth: number, handleDepth: () => number): void {
  const climbs = linkClimbs(target);
  if (climbs === null || (climbs > depth && climbs > depth + handleDepth())) throw new WasiError(ESCAPE);
}

/** The most levels walked up looking for the mount's root. */
const MAX_DEPTH = 4096;

/**
 * How many levels below the mount's root the directory `fd` sits now (it may
 * have moved since it was opened), found by opening `..` step by step from the
 * descriptor itself. 0 when the root is not found above it: the strictest
 * answer.
 */
export function depthInMount(fd: number, root: MountId): number {
  let current = fd;
  let previous: { dev: bigint; ino: bigint } | null = null;
  try {
    for (let depth = 0; depth <= MAX_DEPTH; depth++) {
      const stat = fstatSync(current, { bigint: true });
      if (stat.dev === root.dev && stat.ino === root.ino) return depth;
      // The filesystem's root is its own parent: the mount's root is not above.
      if (previous && previous.dev === stat.dev && previous.ino === stat.ino) return 0;
      previous = { dev: stat.dev, ino: stat.ino };
      const up = openSync(`/proc/self/fd/${current}/..`, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (current !== fd) closeSync(current);
      current = up;
    }
    return 0;
  } finally {
    if (current !== fd) closeSync(current);
  }
}

/**
 * Before a directory moves to where its entries sit `depth` levels below the
 * root: EPERM if any relative link inside it would then climb out. `dirPath`
 * names the directory through a held descriptor (/proc/self/fd/N/name); links
 * are read, never followed.
 */
export function refuseMovedLinksLeadingOut(dirPath: string, depth: number): void {
  const pending: Array<[string, number]> = [[dirPath, depth]];
  while (pending.length > 0) {
    const [dir, level] = pending.pop()!;
    for (const name of readdirSync(dir)) {
      const path = `${dir}/${name}`;
      const stat = lstatSync(path);
      if (stat.isDirectory()) pending.push([path, level + 1]);
      else if (stat.isSymbolicLink()) {
        const target = readlinkSync(path);
        // Absolute targets were never made by the guest; moving them changes nothing.
        if (!target.startsWith('/') && !linkTargetStaysBeneath(target, level)) throw new WasiError(ESCAPE);
      }
    }
  }
}

/** A link whose target the caller has (`ino` absent: the link it has just made). */
export interface KnownLink {
  target: string;
  ino?: bigint;
}

/**
 * After a link was made or moved, or a directory moved, where it now sits:
 * removes the entry `name` of the directory `parentFd` if it is a link that
 * leads out from there, and (with `walk`, for a directory) every such link
 * inside it. `depth` tells how deep `parentFd` sits in the mount now, asked
 * only when there is a link to judge. True when anything was removed.
 *
 * The checks before an operation judge the tree as it was: two runs sharing a
 * mount (a server's requests of one tenant) can each pass its check and then
 * act, one making a link where the other's directory is about to move up
 * (measured: 109 and 656 links leading out of the mount, in two races of
 * 2,000 moves). Each operation that can leave a link too high looks again
 * after it acted; of two racing, the one that acted last finds what the
 * other left.
 */
export function removeLinksLeadingOut(parentFd: number, name: string, depth: () => number, walk: boolean, known?: KnownLink): boolean {
  const path = `/proc/self/fd/${parentFd}/${name}`;
  let stat;
  try {
    stat = lstatSync(path, { bigint: true });
  } catch {
    return false; // gone already
  }
  if (stat.isSymbolicLink()) {
    // The target the caller read or wrote, while the entry is that link: reading it again would
    // update the link's atime, which the guest sees.
    const same = known !== undefined && (known.ino === undefined || known.ino === stat.ino);
    const climbs = linkClimbs(same ? known.target : readlinkSync(path));
    if (climbs === 0 || (climbs !== null && climbs <= depth())) return false;
    unlinkSync(path);
    return true;
  }
  if (!walk || !stat.isDirectory()) return false;
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  } catch {
    return false; // replaced since (by a link: never followed)
  }
  try {
    return removeInside(fd, depth() + 1);
  } finally {
    closeSync(fd);
  }
}

/** A link deeper than this cannot climb out: its target holds at most 4095 bytes, 1365 `../`. */
const MAX_CLIMB = 1365;

/**
 * Removes the links in the directory `fd` (its entries `level` levels below
 * the root) and beneath it that climb out. Walked by held descriptors, each
 * directory opened beneath its parent's without following a link: a run
 * sharing the mount may swap a directory for a link while this walks, and a
 * walk by path strings would follow it (out of the mount, through a link the
 * operator placed) and remove links there.
 */
function removeInside(fd: number, level: number): boolean {
  let removed = false;
  for (const entry of readdirSync(`/proc/self/fd/${fd}`)) {
    const at = `/proc/self/fd/${fd}/${entry}`;
    let stat;
    try {
      stat = lstatSync(at);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) {
      const target = readlinkSync(at);
      // Absolute targets were never made by the guest (as refuseMovedLinksLeadingOut).
      if (!target.startsWith('/') && !linkTargetStaysBeneath(target, level)) {
        unlinkSync(at);
        removed = true;
      }
    } else if (stat.isDirectory() && level < MAX_CLIMB) {
      let inner: number;
      try {
        inner = openSync(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      } catch {
        continue;
      }
      try {
        if (removeInside(inner, level + 1)) removed = true;
      } finally {
        closeSync(inner);
      }
    }
  }
  return removed;
}
