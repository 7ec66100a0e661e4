// preview1 rights (witx `rights`), as bits of a u64, and the rights each kind
// of descriptor reports.
//
// The model is Wasmtime 49's, measured with tools/wasmtime-oracle.py (see
// docs/wasi.md, "Rights"): a descriptor's rights are a function of what it is
// (stdin, an output stream, a preopen, another directory, a file) and of the
// mode it was opened in (read, write). They never change after the open:
// fd_fdstat_set_rights is ENOTSUP, so nothing can be regained, and the mode
// they describe is what every fd_* and path_* call checks.

import type { FdEntry } from './fd-table.js';

export const RIGHTS = {
  FD_DATASYNC: 1n << 0n, FD_READ: 1n << 1n, FD_SEEK: 1n << 2n, FD_FDSTAT_SET_FLAGS: 1n << 3n, FD_SYNC: 1n << 4n,
  FD_TELL: 1n << 5n, FD_WRITE: 1n << 6n, FD_ADVISE: 1n << 7n, FD_ALLOCATE: 1n << 8n, PATH_CREATE_DIRECTORY: 1n << 9n,
  PATH_CREATE_FILE: 1n << 10n, PATH_LINK_SOURCE: 1n << 11n, PATH_LINK_TARGET: 1n << 12n, PATH_OPEN: 1n << 13n,
  FD_READDIR: 1n << 14n, PATH_READLINK: 1n << 15n, PATH_RENAME_SOURCE: 1n << 16n, PATH_RENAME_TARGET: 1n << 17n,
  PATH_FILESTAT_GET: 1n << 18n, PATH_FILESTAT_SET_SIZE: 1n << 19n, PATH_FILESTAT_SET_TIMES: 1n << 20n,
  FD_FILESTAT_GET: 1n << 21n, FD_FILESTAT_SET_SIZE: 1n << 22n, FD_FILESTAT_SET_TIMES: 1n << 23n,
  PATH_SYMLINK: 1n << 24n, PATH_REMOVE_DIRECTORY: 1n << 25n, PATH_UNLINK_FILE: 1n << 26n,
  POLL_FD_READWRITE: 1n << 27n, SOCK_SHUTDOWN: 1n << 28n, SOCK_ACCEPT: 1n << 29n,
} as const;

const R = RIGHTS;

/** Every right preview1 defines; a rights argument with other bits set is EINVAL. */
export const ALL_RIGHTS = (1n << 30n) - 1n;

/** What a preopen reports as its base rights (the set Wasmtime 49 reports for every preopen). */
export const PREOPEN_RIGHTS = R.PATH_CREATE_DIRECTORY | R.PATH_CREATE_FILE | R.PATH_LINK_SOURCE | R.PATH_LINK_TARGET |
  R.PATH_OPEN | R.FD_READDIR | R.PATH_READLINK | R.PATH_RENAME_SOURCE | R.PATH_RENAME_TARGET | R.PATH_FILESTAT_GET |
  R.PATH_FILESTAT_SET_TIMES | R.FD_FILESTAT_GET | R.FD_FILESTAT_SET_TIMES | R.PATH_SYMLINK | R.PATH_REMOVE_DIRECTORY |
  R.PATH_UNLINK_FILE;

/** What a preopen reports as its inheriting rights. */
export const PREOPEN_INHERITING_RIGHTS = PREOPEN_RIGHTS | R.FD_DATASYNC | R.FD_READ | R.FD_SEEK | R.FD_FDSTAT_SET_FLAGS |
  R.FD_SYNC | R.FD_TELL | R.FD_WRITE | R.FD_ADVISE | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE | R.POLL_FD_READWRITE;

/** A directory opened by path_open: opened for reading, so it lacks write, seek and size rights. */
const DIRECTORY_RIGHTS = ALL_RIGHTS & ~(R.FD_SEEK | R.FD_WRITE | R.FD_FILESTAT_SET_SIZE | R.PATH_FILESTAT_SET_SIZE);

/** The rights a file reports: all of them, less reading or writing when it was not opened for that. */
export function fileRights(readable: boolean, writable: boolean): bigint {
  let rights = ALL_RIGHTS;
  if (!readable) rights &= ~(R.FD_READ | R.FD_READDIR);
  if (!writable) rights &= ~R.FD_WRITE;
  return rights;
}

/** The base and inheriting rights fd_fdstat_get reports for a descriptor. */
export function reportedRights(entry: FdEntry): { base: bigint; inheriting: bigint } {
  switch (entry.kind) {
    case 'stdin':
      return { base: R.FD_READ, inheriting: R.FD_READ };
    case 'stdout':
      return { base: R.FD_WRITE, inheriting: R.FD_WRITE };
    case 'file': {
      const rights = fileRights(entry.file.readable, entry.file.writable);
      return { base: rights, inheriting: rights };
    }
    case 'dir':
      // A read-only mount reports the same rights and refuses each mutation itself (EROFS):
      // wasi-libc intersects what it asks for with the directory's inheriting rights, so
      // fewer rights would turn an open for writing into a silent open for reading.
      if (entry.preopen !== null) return { base: PREOPEN_RIGHTS, inheriting: PREOPEN_INHERITING_RIGHTS };
      return { base: DIRECTORY_RIGHTS, inheriting: DIRECTORY_RIGHTS };
  }
}
