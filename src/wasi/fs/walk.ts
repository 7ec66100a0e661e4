// Beneath-only path resolution over real directory descriptors.
//
// A guest path is walked one component at a time, each opened relative to a
// descriptor we hold (through /proc/self/fd/<fd>/<name>, Node having no
// openat) with O_NOFOLLOW, so the kernel never resolves more than one name and
// never follows a link. Symlinks are read and their targets walked the same
// way; `..` pops the stack of held descriptors. Nothing is ever re-resolved
// from a path string, so swapping a directory for a symlink between two steps
// cannot redirect a walk outside the root.

import { closeSync, constants, lstatSync, openSync, readlinkSync, type BigIntStats } from 'node:fs';
import { Errno, WasiError } from '../errno.js';
import { ESCAPE } from './refusals.js';

const O_PATH = 0x200000;
const { O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC = 0x80000 } = constants as typeof constants & { O_CLOEXEC?: number };
const DIR_FLAGS = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

/** Links followed in one resolution before ELOOP, as Linux does. */
export const MAX_SYMLINKS = 40;
/** The longest guest path accepted (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;

export { ESCAPE } from './refusals.js';

export const procPath = (fd: number, name: string): string => `/proc/self/fd/${fd}/${name}`;

export interface Resolved {
  /** Descriptor of the directory holding the final component. */
  parent: number;
  /** Whether `parent` was opened for this resolution (the caller closes it with `release`). */
  owned: boolean;
  /** How many directories below the root `parent` is (0: the root itself), counted on the real tree. */
  depth: number;
  /** The final component: a plain name, '.' (the directory itself) or never '..'. */
  name: string;
  /** The guest path ended in '/': the final component must be a directory. */
  trailingSlash: boolean;
  /** The final component's lstat, when resolution had to take it (following a final link). */
  stat?: BigIntStats;
}

/** Splits and checks a guest path. */
export function parsePath(path: string): { parts: string[]; trailingSlash: boolean } {
  if (path.length === 0) throw new WasiError(Errno.NOENT);
  if (path.includes('\0')) throw new WasiError(Errno.ILSEQ);
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new WasiError(Errno.NAMETOOLONG);
  if (path.startsWith('/')) throw new WasiError(ESCAPE);
  const parts = path.split('/').filter((p) => p !== '');
  for (const p of parts) if (Buffer.byteLength(p) > MAX_NAME_BYTES) throw new WasiError(Errno.NAMETOOLONG);
  return { parts, trailingSlash: path.endsWith('/') };
}

function errnoOf(error: unknown): Errno {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return Errno.NOENT;
    case 'ENOTDIR': return Errno.NOTDIR;
    case 'EACCES': return Errno.ACCES;
    case 'ELOOP': return Errno.LOOP;
    case 'ENAMETOOLONG': return Errno.NAMETOOLONG;
    case 'EMFILE': case 'ENFILE': return Errno.NFILE;
    default: return Errno.IO;
  }
}

/**
 * Holds the descriptors of the directories walked so far. The root is not
 * owned (never closed here); every other entry is.
 */
class DirStack {
  private readonly fds: number[];
  constructor(root: number) {
    this.fds = [root];
  }
  get top(): number {
    return this.fds[this.fds.length - 1]!;
  }
  get atRoot(): boolean {
    return this.fds.length === 1;
  }
  push(fd: number): void {
    this.fds.push(fd);
  }
  pop(): void {
    if (this.atRoot) throw new WasiError(ESCAPE);
    closeSync(this.fds.pop()!);
  }
  /** Hands the top descriptor to the caller; the root stays the root's owner's. */
  takeTop(): { parent: number; owned: boolean; depth: number } {
    const depth = this.fds.length - 1;
    if (this.atRoot) return { parent: this.top, owned: false, depth };
    return { parent: this.fds.pop()!, owned: true, depth };
  }
  release(): void {
    while (!this.atRoot) closeSync(this.fds.pop()!);
  }
}

/** Reads a symlink at `name` in `dirFd`; absolute targets leave the preopen. */
function readLinkParts(dirFd: number, name: string): { parts: string[]; trailingSlash: boolean } {
  let target: string;
  try {
    target = readlinkSync(procPath(dirFd, name));
  } catch (error) {
    throw new WasiError(errnoOf(error));
  }
  if (target.startsWith('/')) throw new WasiError(ESCAPE);
  if (target.length === 0) throw new WasiError(Errno.NOENT);
  return { parts: target.split('/').filter((p) => p !== ''), trailingSlash: target.endsWith('/') };
}

function isSymlink(dirFd: number, name: string): boolean {
  try {
    return lstatSync(procPath(dirFd, name)).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Whether `path` names one entry of the directory itself: no '/', not '.' or
 * '..', no NUL, and short enough that its UTF-8 form is within NAME_MAX (each
 * UTF-16 unit is at most 3 bytes). Such a path resolves to the root and the
 * name, with nothing to walk: the general walk below gives the same answer.
 */
export function isSingleName(path: string): boolean {
  return path.length > 0 && path.length <= MAX_NAME_BYTES / 3 && path !== '.' && path !== '..' &&
    path.indexOf('/') === -1 && path.indexOf('\0') === -1;
}

/**
 * Resolves `path` beneath `root` down to its final component. Intermediate
 * symlinks are always followed (inside the root only); the final one only when
 * `followFinal` is set (or the path ends in '/').
 */
export function resolve(root: number, path: string, followFinal: boolean): Resolved {
  // Most guest paths are one name in a preopen (wasi-libc strips the preopen's prefix): no
  // walk, no descriptor, no arrays. A final symlink to follow still takes the walk below.
  if (isSingleName(path)) {
    if (!followFinal) return { parent: root, owned: false, depth: 0, name: path, trailingSlash: false };
    let stat: BigIntStats | undefined;
    try {
      // ENOENT as undefined, not a thrown error: Node builds a stack trace for each one.
      stat = lstatSync(procPath(root, path), { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      throw new WasiError(errnoOf(error));
    }
    // Not there yet: the caller may create it (O_CREAT, mkdir).
    if (stat === undefined) return { parent: root, owned: false, depth: 0, name: path, trailingSlash: false };
    if (!stat.isSymbolicLink()) return { parent: root, owned: false, depth: 0, name: path, trailingSlash: false, stat };
  }
  const parsed = parsePath(path);
  const stack = new DirStack(root);
  const queue = parsed.parts;
  let trailingSlash = parsed.trailingSlash;
  let links = 0;
  try {
    for (;;) {
      if (queue.length === 0) return { ...stack.takeTop(), name: '.', trailingSlash };
      const name = queue.shift()!;
      const final = queue.length === 0;
      if (name === '.') continue;
      if (name === '..') {
        stack.pop();
        continue;
      }
      if (final) {
        if (!(followFinal || trailingSlash)) return { ...stack.takeTop(), name, trailingSlash };
        let isLink = false;
        let isDir = false;
        let stat: BigIntStats;
        try {
          stat = lstatSync(procPath(stack.top, name), { bigint: true });
          isLink = stat.isSymbolicLink();
          isDir = stat.isDirectory();
        } catch (error) {
          const errno = errnoOf(error);
          // Not there yet: the caller may create it (O_CREAT, mkdir).
          if (errno === Errno.NOENT) return { ...stack.takeTop(), name, trailingSlash };
          throw new WasiError(errno);
        }
        if (isLink) {
          if (++links > MAX_SYMLINKS) throw new WasiError(Errno.LOOP);
          const link = readLinkParts(stack.top, name);
          queue.push(...link.parts);
          trailingSlash = trailingSlash || link.trailingSlash;
          continue;
        }
        if (trailingSlash && !isDir) throw new WasiError(Errno.NOTDIR);
        return { ...stack.takeTop(), name, trailingSlash, stat };
      }
      let fd: number;
      try {
        fd = openSync(procPath(stack.top, name), DIR_FLAGS);
      } catch (error) {
        const errno = errnoOf(error);
        if ((errno === Errno.NOTDIR || errno === Errno.LOOP) && isSymlink(stack.top, name)) {
          if (++links > MAX_SYMLINKS) throw new WasiError(Errno.LOOP);
          queue.unshift(...readLinkParts(stack.top, name).parts);
          continue;
        }
        throw new WasiError(errno);
      }
      stack.push(fd);
    }
  } finally {
    stack.release();
  }
}

export function release(resolved: Resolved): void {
  if (resolved.owned) closeSync(resolved.parent);
}
