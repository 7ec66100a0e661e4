// The errnos every filesystem here answers when the grant, not the disk, says no.

import { Errno } from '../errno.js';

/**
 * Leaving a preopen: absolute paths, `..` above the root, symlinks out, and
 * creating absolute symlinks. Wasmtime answers EPERM (not-permitted) for all.
 */
export const ESCAPE = Errno.PERM;

/**
 * Any mutation of a read-only mount. Wasmtime 49 answers EPERM here too; EROFS
 * is kept because it tells the guest (and its user) why, and the report can
 * tell it from an escape attempt. See docs/RATIONALE.md.
 */
export const READ_ONLY = Errno.ROFS;

/**
 * A mutation through a descriptor (fd_filestat_set_times, fd_filestat_set_size)
 * that was opened from a read-only mount. Wasmtime 49 answers EPERM for these
 * (its descriptor carries no write permission), and so does wasm-warden; writes
 * through such a descriptor are EBADF, as on any file opened for reading.
 */
export const READ_ONLY_DESCRIPTOR = Errno.PERM;
