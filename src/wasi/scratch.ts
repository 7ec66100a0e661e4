// Ephemeral scratch directories for `--tmpfs` (and single-file mounts): a
// fresh directory on the kernel's memory-backed tmpfs (/dev/shm), removed
// when the run ends. The guest reaches it through the same beneath-only
// host-directory capability as any mount, and its size is bounded by the
// run's write quota.
//
// Removal never names a long path. A guest can nest directories far beyond
// PATH_MAX by walking from held descriptors (20 levels of 255-byte names),
// and removing that tree by path strings fails with ENAMETOOLONG, leaving it
// behind. Here every step names at most `/proc/self/fd/<fd>/<one name>`:
// directories found below the top are moved up to the top under short names,
// so the tree flattens instead of being descended, and at most two
// descriptors are held at once.

import { closeSync, constants, existsSync, mkdtempSync, openSync, readdirSync, renameSync, rmdirSync, unlinkSync } from 'node:fs';

const memoryBacked = '/dev/shm';
const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export interface Scratch {
  path: string;
  /** Removes the directory and everything in it. Never throws: returns false if something was left. */
  remove(): boolean;
}

export function createScratch(): Scratch {
  const base = existsSync(memoryBacked) ? memoryBacked : '/tmp';
  // The creating process's id in the name: whoever looks at /dev/shm can tell whose it is.
  const path = mkdtempSync(`${base}/warden-scratch-${process.pid}-`);
  return { path, remove: () => removeTree(path) };
}

/** Removes `path` (a directory) and its contents by descriptors. Never throws. */
export function removeTree(path: string): boolean {
  let root: number;
  try {
    root = openSync(path, DIRECTORY);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
  try {
    emptyDirectory(root);
  } catch {
    // Whatever is left is reported by the rmdir below failing.
  } finally {
    closeSync(root);
  }
  try {
    rmdirSync(path);
    return true;
  } catch {
    return false;
  }
}

function emptyDirectory(root: number): void {
  const top = `/proc/self/fd/${root}`;
  let fresh = 0;
  // Each pass removes every file and every directory's files, and lifts
  // grandchildren to the top: the tree's depth shrinks by one per pass at least.
  for (let pass = 0; pass < 1_000_000; pass++) {
    const entries = readdirSync(top, { withFileTypes: true });
    if (entries.length === 0) return;
    for (const entry of entries) {
      const at = `${top}/${entry.name}`;
      if (!entry.isDirectory()) {
        unlinkSync(at);
        continue;
      }
      const dir = openSync(at, DIRECTORY);
      try {
        const inside = `/proc/self/fd/${dir}`;
        for (const inner of readdirSync(inside, { withFileTypes: true })) {
          const innerAt = `${inside}/${inner.name}`;
          if (!inner.isDirectory()) {
            unlinkSync(innerAt);
            continue;
          }
          // Lift it to the top under a short name (a taken name is skipped).
          for (;;) {
            try {
              renameSync(innerAt, `${top}/.${(fresh++).toString(36)}`);
              break;
            } catch (error) {
              const code = (error as NodeJS.ErrnoException).code;
              if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'ENOTDIR' && code !== 'EISDIR') throw error;
            }
          }
        }
      } finally {
        closeSync(dir);
      }
      rmdirSync(at);
    }
  }
}
