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

import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import { WasiError } from '../errno.js';
import { ESCAPE } from './refusals.js';

const O_PATH = 0x200000;
const O_DIRECTORY = 0x10000;
const O_CLOEXEC = 0x80000;

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
