// preview1 descriptor functions: reading, writing, seeking, stat, readdir,
// prestat, renumbering and closing.

import type { WasiContext } from './context.js';
import { Errno, WasiError } from './errno.js';
import { closeEntry, type FdEntry, type StdioHost } from './fd-table.js';
import { isTerminal } from './endpoint.js';
import { guestSetTimes } from './file-times.js';
import { FileType, type File, type FileStat, type TimeUpdate } from './fs/types.js';
import { encodeUtf8 } from './guest-memory.js';
import { reportedRights } from './rights.js';

/** The most iovecs one call may pass, as IOV_MAX on Linux. */
export const MAX_IOVS = 1024;
/** The most bytes one read call moves through a host-side buffer. */
const MAX_READ_CHUNK = 1024 * 1024;

export const FDFLAGS = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
const FSTFLAGS = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;

/**
 * The updates fd/path_filestat_set_times ask for. "Now" is taken here from the
 * run's clock and passed on as a value, so the guest reads back what its clock
 * said (setTimesAndRemember), not the host's rounding of it.
 */
export function timeUpdates(flags: number, atim: bigint, mtim: bigint, wallNow: () => bigint): [TimeUpdate, TimeUpdate] {
  if (flags & ~0xf) throw new WasiError(Errno.INVAL);
  if ((flags & FSTFLAGS.ATIM && flags & FSTFLAGS.ATIM_NOW) || (flags & FSTFLAGS.MTIM && flags & FSTFLAGS.MTIM_NOW)) throw new WasiError(Errno.INVAL);
  let now: bigint | undefined;
  const one = (set: number, nowFlag: number, ns: bigint): TimeUpdate =>
    flags & set ? { kind: 'set', ns } : flags & nowFlag ? { kind: 'set', ns: (now ??= wallNow()) } : { kind: 'keep' };
  return [one(FSTFLAGS.ATIM, FSTFLAGS.ATIM_NOW, atim), one(FSTFLAGS.MTIM, FSTFLAGS.MTIM_NOW, mtim)];
}

/** Applies timestamps the guest set, then remembers them so they read back exactly as set. */
export function setTimesAndRemember(ctx: WasiContext, [atim, mtim]: [TimeUpdate, TimeUpdate], apply: (a: TimeUpdate, m: TimeUpdate) => void, statAfter: () => FileStat): void {
  apply(atim, mtim);
  if (atim.kind !== 'set' && mtim.kind !== 'set') return;
  let after: FileStat;
  try {
    after = statAfter();
  } catch {
    return; // gone already: there is nothing left to read back
  }
  guestSetTimes(ctx.clocks).remember(after, atim.kind === 'set' ? atim.ns : undefined, mtim.kind === 'set' ? mtim.ns : undefined);
}

/**
 * stdio is a character device only when it is a terminal, and of unknown type
 * otherwise, as in Wasmtime: wasi-libc's isatty() reads this, and a guest told
 * that a pipe, a file or a capture is a terminal line-buffers it and may paint
 * colours or prompts into it.
 */
function stdioFiletype(entry: StdioHost): FileType {
  entry.terminal ??= entry.hostFd !== null && isTerminal(entry.hostFd);
  return entry.terminal ? FileType.CharacterDevice : FileType.Unknown;
}

function filetypeOf(entry: FdEntry): number {
  switch (entry.kind) {
    case 'stdin': case 'stdout': return stdioFiletype(entry);
    case 'dir': return FileType.Directory;
    case 'file': return FileType.RegularFile;
  }
}

/**
 * The file behind a descriptor, for calls that only files answer. As in
 * Wasmtime 49: a directory is EBADF; a stream is ESPIPE where the call is
 * about positions (seek, tell) and EBADF otherwise.
 */
function fileOf(entry: FdEntry, streamErrno: Errno = Errno.BADF): File {
  if (entry.kind === 'file') return entry.file;
  throw new WasiError(entry.kind === 'dir' ? Errno.BADF : streamErrno);
}

/**
 * Writes a 64-byte filestat at `ptr`. Timestamps go through the run's clock
 * policy (file-times.ts): a host stamp is no finer a timer than the clock.
 */
export function writeFilestat(ctx: WasiContext, ptr: number, stat: FileStat): void {
  const m = ctx.memory;
  m.checkWrite(ptr, 64);
  const v = m.data();
  v.setBigUint64(ptr, stat.dev, true);
  v.setBigUint64(ptr + 8, stat.ino, true);
  v.setUint8(ptr + 16, stat.filetype);
  for (let i = 17; i < 24; i++) v.setUint8(ptr + i, 0);
  v.setBigUint64(ptr + 24, stat.nlink, true);
  v.setBigUint64(ptr + 32, stat.size, true);
  guestSetTimes(ctx.clocks).writeObserved(v, ptr + 40, stat, ctx.clocks);
}

export function fdFunctions(ctx: WasiContext) {
  const m = ctx.memory;
  const fds = ctx.fds;

  /**
   * The (ptr, len) pairs of the call in progress, copied out of guest memory
   * once they are checked. Read from here, never again from the guest: a read
   * into one buffer may overwrite the iovec array itself, and the later pairs
   * must be the ones that were checked (and that the guest passed, as
   * Wasmtime reads them). Kept for the host's life: no list per call.
   */
  const pairs = new Uint32Array(MAX_IOVS * 2);

  /**
   * Checks an iovec array and every buffer it names (EFAULT before anything moves) and copies the pairs into
   * `pairs`; `into`: the host writes the buffers (a read), so they must also be outside the write-guarded ranges.
   */
  function takeIovecs(iovs: number, count: number, into: boolean): void {
    if (count > MAX_IOVS) throw new WasiError(Errno.INVAL);
    m.check(iovs, count * 8);
    const view = m.data();
    for (let i = 0; i < count; i++) {
      const ptr = view.getUint32(iovs + i * 8, true);
      const len = view.getUint32(iovs + i * 8 + 4, true);
      if (into) m.checkWrite(ptr, len);
      else m.check(ptr, len);
      pairs[2 * i] = ptr;
      pairs[2 * i + 1] = len;
    }
  }

  function write(fd: number, iovs: number, count: number, position: bigint | null): number {
    const entry = fds.get(fd);
    let total = 0;
    if (entry.kind === 'stdout') {
      if (position !== null) throw new WasiError(Errno.SPIPE);
      if (count > MAX_IOVS) throw new WasiError(Errno.INVAL);
      m.check(iovs, count * 8);
      const view = m.data();
      const bytes = m.bytes();
      for (let i = 0; i < count; i++) {
        const ptr = view.getUint32(iovs + i * 8, true);
        const len = view.getUint32(iovs + i * 8 + 4, true);
        m.check(ptr, len);
        total += entry.stream.write(bytes, ptr, len);
      }
      return total;
    }
    const file = fileOf(entry);
    // A file opened without write: refused before anything is read from the guest, even for 0 iovecs.
    if (!file.writable) throw new WasiError(Errno.BADF);
    takeIovecs(iovs, count, false);
    for (let i = 0; i < count; i++) {
      const ptr = pairs[2 * i]!;
      const len = pairs[2 * i + 1]!;
      if (len === 0) continue;
      let n: number;
      try {
        // Straight from guest memory (the range was checked with the iovecs): no view per write.
        n = file.write(m.bytes(), position === null ? null : position + BigInt(total), ptr, len);
      } catch (error) {
        // Bytes already written stay written (and the offset moved past them): report them, as
        // writev does, and leave the error to the next call. An errno here made C stdio, which
        // writes its buffer and the caller's data as two iovecs, write the same bytes again.
        if (total > 0 && error instanceof WasiError) return total;
        throw error;
      }
      total += n;
      if (n < len) break;
    }
    return total;
  }

  function read(fd: number, iovs: number, count: number, position: bigint | null): number {
    const entry = fds.get(fd);
    if (entry.kind === 'stdout' || entry.kind === 'dir') throw new WasiError(Errno.BADF);
    if (entry.kind === 'stdin' && position !== null) throw new WasiError(Errno.SPIPE);
    // A file opened without read: refused before anything is written to the guest.
    if (entry.kind === 'file' && !entry.file.readable) throw new WasiError(Errno.BADF);
    let total = 0;
    takeIovecs(iovs, count, true);
    for (let i = 0; i < count; i++) {
      const ptr = pairs[2 * i]!;
      const len = pairs[2 * i + 1]!;
      if (len === 0) continue;
      const want = Math.min(len, MAX_READ_CHUNK);
      let n: number;
      if (entry.kind === 'stdin') {
        n = entry.stream.read(m.slice(ptr, want));
      } else {
        n = entry.file.read(m.bytes(), position === null ? null : position + BigInt(total), ptr, want);
      }
      total += n;
      if (n < len) break;
    }
    return total;
  }

  return {
    fd_write: (fd: number, iovs: number, count: number, out: number) => {
      m.setU32(out >>> 0, write(fd, iovs >>> 0, count >>> 0, null));
      return 0;
    },
    fd_pwrite: (fd: number, iovs: number, count: number, offset: bigint, out: number) => {
      if (offset < 0n) throw new WasiError(Errno.INVAL);
      m.setU32(out >>> 0, write(fd, iovs >>> 0, count >>> 0, offset));
      return 0;
    },
    fd_read: (fd: number, iovs: number, count: number, out: number) => {
      m.setU32(out >>> 0, read(fd, iovs >>> 0, count >>> 0, null));
      return 0;
    },
    fd_pread: (fd: number, iovs: number, count: number, offset: bigint, out: number) => {
      if (offset < 0n) throw new WasiError(Errno.INVAL);
      m.setU32(out >>> 0, read(fd, iovs >>> 0, count >>> 0, offset));
      return 0;
    },
    fd_seek: (fd: number, offset: bigint, whence: number, out: number) => {
      // whence is a u8 passed as an i32: read unsigned, or -1 would pass this check and seek from the end.
      if (whence >>> 0 > 2) throw new WasiError(Errno.INVAL);
      const file = fileOf(fds.get(fd), Errno.SPIPE);
      m.setU64(out >>> 0, file.seek(offset, whence as 0 | 1 | 2));
      return 0;
    },
    fd_tell: (fd: number, out: number) => {
      m.setU64(out >>> 0, fileOf(fds.get(fd), Errno.SPIPE).tell());
      return 0;
    },
    fd_close: (fd: number) => {
      closeEntry(fds.remove(fd));
      return 0;
    },
    fd_renumber: (from: number, to: number) => {
      const replaced = fds.renumber(from, to);
      if (replaced) closeEntry(replaced);
      return 0;
    },
    // Directories and streams are EBADF for sync, datasync, advise and allocate, as in Wasmtime 49.
    fd_sync: (fd: number) => {
      fileOf(fds.get(fd)).sync();
      return 0;
    },
    fd_datasync: (fd: number) => {
      fileOf(fds.get(fd)).datasync();
      return 0;
    },
    fd_advise: (fd: number, offset: bigint, len: bigint, advice: number) => {
      const entry = fds.get(fd);
      if (advice >>> 0 > 5 || offset < 0n || len < 0n) throw new WasiError(Errno.INVAL);
      fileOf(entry);
      return 0;
    },
    fd_allocate: (fd: number, offset: bigint, len: bigint) => {
      const file = fileOf(fds.get(fd));
      if (offset < 0n || len <= 0n) throw new WasiError(Errno.INVAL);
      file.allocate(offset, len);
      return 0;
    },
    fd_fdstat_get: (fd: number, out: number) => {
      const entry = fds.get(fd);
      const ptr = out >>> 0;
      m.checkWrite(ptr, 24);
      const v = m.data();
      v.setUint8(ptr, filetypeOf(entry));
      v.setUint8(ptr + 1, 0);
      const append = entry.kind === 'file' && entry.file.append ? FDFLAGS.APPEND : 0;
      v.setUint16(ptr + 2, entry.kind === 'file' ? (entry.flags & ~FDFLAGS.APPEND) | append : 0, true);
      v.setUint32(ptr + 4, 0, true);
      const rights = reportedRights(entry);
      v.setBigUint64(ptr + 8, rights.base, true);
      v.setBigUint64(ptr + 16, rights.inheriting, true);
      return 0;
    },
    fd_fdstat_set_flags: (fd: number, flags: number) => {
      // Only files have flags to change (directories and streams are EBADF, as in Wasmtime 49).
      const entry = fds.get(fd);
      const file = fileOf(entry);
      if (flags & ~0x1f) throw new WasiError(Errno.INVAL);
      // Only APPEND and NONBLOCK can change after open, as in Wasmtime.
      if (flags & (FDFLAGS.DSYNC | FDFLAGS.RSYNC | FDFLAGS.SYNC)) throw new WasiError(Errno.NOTSUP);
      file.append = (flags & FDFLAGS.APPEND) !== 0;
      entry.flags = flags;
      return 0;
    },
    fd_fdstat_set_rights: (fd: number) => {
      // Rights follow from a descriptor's kind and mode and never change, so none can be
      // regained: ENOTSUP for files and directories, EBADF for streams, as in Wasmtime 49.
      const entry = fds.get(fd);
      if (entry.kind === 'stdin' || entry.kind === 'stdout') throw new WasiError(Errno.BADF);
      throw new WasiError(Errno.NOTSUP);
    },
    fd_filestat_get: (fd: number, out: number) => {
      const entry = fds.get(fd);
      if (entry.kind === 'file') writeFilestat(ctx, out >>> 0, entry.file.stat());
      else if (entry.kind === 'dir') writeFilestat(ctx, out >>> 0, entry.dir.stat());
      else writeFilestat(ctx, out >>> 0, { dev: 0n, ino: 0n, filetype: stdioFiletype(entry), nlink: 0n, size: 0n, atim: 0n, mtim: 0n, ctim: 0n });
      return 0;
    },
    fd_filestat_set_size: (fd: number, size: bigint) => {
      const file = fileOf(fds.get(fd));
      if (size < 0n) throw new WasiError(Errno.INVAL);
      // The file answers for its mode, as Wasmtime 49 does: EPERM from a read-only mount,
      // EINVAL (as ftruncate) for a file opened without write.
      file.setSize(size);
      return 0;
    },
    fd_filestat_set_times: (fd: number, atim: bigint, mtim: bigint, flags: number) => {
      const entry = fds.get(fd);
      const updates = timeUpdates(flags, atim, mtim, () => ctx.clocks.wallNow());
      if (entry.kind === 'stdin' || entry.kind === 'stdout') throw new WasiError(Errno.BADF);
      if (updates[0].kind === 'keep' && updates[1].kind === 'keep') return 0;
      if (entry.kind === 'file') setTimesAndRemember(ctx, updates, (a, mt) => entry.file.setTimes(a, mt), () => entry.file.stat());
      // A preopen's own times are not the guest's to set: EBADF, as in Wasmtime 49 (EPERM first on a read-only mount).
      else if (entry.preopen !== null && !entry.dir.readOnly) throw new WasiError(Errno.BADF);
      else setTimesAndRemember(ctx, updates, (a, mt) => entry.dir.setTimes(a, mt), () => entry.dir.stat());
      return 0;
    },
    fd_prestat_get: (fd: number, out: number) => {
      const entry = fds.get(fd);
      if (entry.kind !== 'dir' || entry.preopen === null) throw new WasiError(Errno.BADF);
      const ptr = out >>> 0;
      m.checkWrite(ptr, 8);
      m.data().setUint32(ptr, 0, true);
      m.data().setUint32(ptr + 4, encodeUtf8(entry.preopen).length, true);
      return 0;
    },
    fd_prestat_dir_name: (fd: number, path: number, len: number) => {
      const entry = fds.get(fd);
      if (entry.kind !== 'dir' || entry.preopen === null) throw new WasiError(Errno.BADF);
      const name = encodeUtf8(entry.preopen);
      if ((len >>> 0) < name.length) throw new WasiError(Errno.NAMETOOLONG);
      m.write(path >>> 0, name.length, name);
      return 0;
    },
    fd_readdir: (fd: number, buf: number, bufLen: number, cookie: bigint, out: number) => {
      const entry = fds.get(fd);
      if (entry.kind !== 'dir') throw new WasiError(Errno.BADF);
      const ptr = buf >>> 0;
      const capacity = bufLen >>> 0;
      m.checkWrite(ptr, capacity);
      const self = entry.dir.stat();
      const listing = [
        { name: '.', ino: self.ino, filetype: FileType.Directory },
        // '..' carries the directory's own inode, as Wasmtime does: a zero would make
        // wasi-libc's readdir stat '..' itself, which leaves the descriptor (EPERM), and
        // the parent's real inode (for a preopen, outside the mount) is not ours to give.
        { name: '..', ino: self.ino, filetype: FileType.Directory },
        ...entry.dir.entries(),
      ];
      // Each dirent is built in a fresh zeroed buffer: nothing but its own bytes reaches the guest.
      let used = 0;
      // The cookie is a u64 arriving as a signed i64: one from 2^63 up is negative here and, like
      // every cookie past the last entry, lists nothing (it restarted the listing).
      for (let i = Number(cookie < 0n || cookie > BigInt(listing.length) ? BigInt(listing.length) : cookie); i < listing.length && used < capacity; i++) {
        const item = listing[i]!;
        const name = encodeUtf8(item.name);
        const dirent = new Uint8Array(24 + name.length);
        const view = new DataView(dirent.buffer);
        view.setBigUint64(0, BigInt(i + 1), true);
        view.setBigUint64(8, item.ino, true);
        view.setUint32(16, name.length, true);
        view.setUint8(20, item.filetype);
        dirent.set(name, 24);
        used += m.write(ptr + used, capacity - used, dirent);
      }
      m.setU32(out >>> 0, used);
      return 0;
    },
  };
}
