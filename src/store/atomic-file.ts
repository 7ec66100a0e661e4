// A file that appears whole or not at all: bytes go to a temporary file in the
// target's directory (so the final rename stays on one filesystem), are
// synced, then renamed over the target (or, where nothing may be replaced,
// linked to it). Any failure removes the temporary file.

import { closeSync, fstatSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** The write call; replaceable so tests can make the disk fill up halfway. */
export type WriteFn = (fd: number, data: Uint8Array, offset: number) => number;

export const defaultWrite: WriteFn = (fd, data, offset) => writeSync(fd, data, offset);

export interface AtomicFile {
  /** Appends a chunk; throws (after cleaning up) when the write fails. */
  write(chunk: Uint8Array): void;
  /** Syncs and renames the temporary file to `path`. */
  commit(path: string): void;
  /**
   * Syncs and links the temporary file to `path`, which must not exist (throws EEXIST, the
   * target left as it was), then drops the temporary name. Returns the file's identity, so
   * a caller undoing the commit removes `path` only while it is still this file.
   */
  commitNew(path: string): { dev: number; ino: number };
  /** Drops the temporary file. Safe to call at any time, more than once. */
  abort(): void;
}

let counter = 0;

/** Starts a temporary file in `dir`; the caller commits it under a final name in the same dir. */
export function createAtomicFile(dir: string, write: WriteFn = defaultWrite, mode = 0o644): AtomicFile {
  const temp = `${dir}/.tmp-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  let fd: number | null = openSync(temp, 'wx', mode);
  const abort = (): void => {
    if (fd !== null) {
      try { closeSync(fd); } catch { /* already failing: the removal below is what matters */ }
      fd = null;
    }
    rmSync(temp, { force: true });
  };
  return {
    write(chunk) {
      if (fd === null) throw new Error('write after commit or abort');
      try {
        let done = 0;
        while (done < chunk.length) done += write(fd, chunk, done);
      } catch (error) {
        abort();
        throw error;
      }
    },
    commit(path) {
      if (fd === null) throw new Error('commit after commit or abort');
      try {
        fsyncSync(fd);
        closeSync(fd);
        fd = null;
        renameSync(temp, path);
      } catch (error) {
        abort();
        throw error;
      }
    },
    commitNew(path) {
      if (fd === null) throw new Error('commit after commit or abort');
      try {
        fsyncSync(fd);
        const { dev, ino } = fstatSync(fd);
        closeSync(fd);
        fd = null;
        // link() fails with EEXIST when anything (a file, a dangling symlink) is at `path`, in
        // the one system call that places the file: this stops a "refuse to overwrite" check
        // made earlier from being beaten by a file that appears after it (a rename would
        // replace that file without a word).
        linkSync(temp, path);
        return { dev, ino };
      } finally {
        abort();
      }
    },
    abort,
  };
}

/** The directory a path names its entry in (`.` for a bare name). */
function directoryOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '.' : slash === 0 ? '/' : path.slice(0, slash);
}

/** `data` at `path`, whole or not at all: a temporary file beside it, every byte written, synced, renamed over it. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const file = createAtomicFile(directoryOf(path), defaultWrite, mode);
  file.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  file.commit(path);
}
