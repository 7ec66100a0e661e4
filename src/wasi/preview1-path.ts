// preview1 path functions: every path is resolved by the directory capability
// the descriptor holds; these functions only decode arguments and encode results.

import type { WasiContext } from './context.js';
import { Errno, WasiError } from './errno.js';
import type { Directory } from './fs/types.js';
import { MAX_PATH_BYTES } from './fs/walk.js';
import { setTimesAndRemember, timeUpdates, writeFilestat, FDFLAGS } from './preview1-fd.js';
import { ALL_RIGHTS, RIGHTS } from './rights.js';

const LOOKUP_SYMLINK_FOLLOW = 1;
/** The two rights path_open reads, as numbers (every right fits in 30 bits). */
const FD_READ = Number(RIGHTS.FD_READ);
const FD_WRITE = Number(RIGHTS.FD_WRITE);
const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;

/** fdflags that ask for synchronous I/O: ENOTSUP at open, as in Wasmtime 49. */
const SYNC_FDFLAGS = FDFLAGS.DSYNC | FDFLAGS.RSYNC | FDFLAGS.SYNC;

export function pathFunctions(ctx: WasiContext) {
  const m = ctx.memory;
  const fds = ctx.fds;

  /** The directory a path call resolves from; a file or stream is EBADF (as Wasmtime 49; path_open says ENOTDIR for a file). */
  function dirOf(fd: number): Directory {
    const entry = fds.get(fd);
    if (entry.kind !== 'dir') throw new WasiError(Errno.BADF);
    return entry.dir;
  }

  // Length first, on raw bytes: a huge guest path is refused before it is decoded.
  const path = (ptr: number, len: number): string => m.boundedString(ptr >>> 0, len >>> 0, MAX_PATH_BYTES);

  return {
    path_open: (fd: number, dirflags: number, pathPtr: number, pathLen: number, oflags: number, rightsBase: bigint, rightsInheriting: bigint, fdflags: number, out: number) => {
      const entry = fds.get(fd);
      if (entry.kind === 'file') throw new WasiError(Errno.NOTDIR);
      if (entry.kind !== 'dir') throw new WasiError(Errno.BADF);
      const p = path(pathPtr, pathLen);
      if (oflags & ~0xf || fdflags & ~0x1f) throw new WasiError(Errno.INVAL);
      // Bits no right names (Wasmtime traps on them; a guest mistake here is an errno, not the end of the run).
      // (The i64 arrives signed: a set top bit is a negative BigInt, outside [0, ALL_RIGHTS] as any other stray bit.
      // Compared, not masked: a BigInt `&` allocates, and this is on every open.)
      if (rightsBase < 0n || rightsBase > ALL_RIGHTS || rightsInheriting < 0n || rightsInheriting > ALL_RIGHTS) throw new WasiError(Errno.INVAL);
      const base = Number(rightsBase);
      if (fdflags & SYNC_FDFLAGS) throw new WasiError(Errno.NOTSUP);
      // The requested rights choose the open mode and nothing else, as in Wasmtime 49: FD_WRITE
      // (or O_TRUNC) opens for writing, FD_READ or the absence of FD_WRITE for reading. What the
      // descriptor then reports and allows follows from that mode (rights.ts). A directory is
      // opened for reading only: asking to write one is EISDIR, from the kernel.
      const wantsWrite = (base & FD_WRITE) !== 0 || (oflags & OFLAGS.TRUNC) !== 0;
      const wantsRead = (base & FD_READ) !== 0 || (base & FD_WRITE) === 0;
      const directory = (oflags & OFLAGS.DIRECTORY) !== 0;
      if (directory && (oflags & (OFLAGS.CREAT | OFLAGS.TRUNC))) throw new WasiError(Errno.INVAL);
      const opened = entry.dir.open(p, {
        create: (oflags & OFLAGS.CREAT) !== 0,
        exclusive: (oflags & OFLAGS.EXCL) !== 0,
        truncate: (oflags & OFLAGS.TRUNC) !== 0,
        directory,
        read: wantsRead,
        write: wantsWrite,
        append: (fdflags & FDFLAGS.APPEND) !== 0,
        followSymlinks: (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0,
      });
      let newFd: number;
      try {
        if (opened.kind === 'dir') newFd = fds.add({ kind: 'dir', dir: opened, preopen: null, flags: 0 });
        else newFd = fds.add({ kind: 'file', file: opened, flags: fdflags });
      } catch (error) {
        opened.close();
        throw error;
      }
      m.setU32(out >>> 0, newFd);
      return 0;
    },
    path_create_directory: (fd: number, p: number, len: number) => {
      dirOf(fd).createDirectory(path(p, len));
      return 0;
    },
    path_remove_directory: (fd: number, p: number, len: number) => {
      dirOf(fd).removeDirectory(path(p, len));
      return 0;
    },
    path_unlink_file: (fd: number, p: number, len: number) => {
      dirOf(fd).unlinkFile(path(p, len));
      return 0;
    },
    path_filestat_get: (fd: number, flags: number, p: number, len: number, out: number) => {
      const stat = dirOf(fd).statAt(path(p, len), (flags & LOOKUP_SYMLINK_FOLLOW) !== 0);
      writeFilestat(ctx, out >>> 0, stat);
      return 0;
    },
    path_filestat_set_times: (fd: number, flags: number, p: number, len: number, atim: bigint, mtim: bigint, fst: number) => {
      const dir = dirOf(fd);
      const updates = timeUpdates(fst, atim, mtim, () => ctx.clocks.wallNow());
      // Nothing to set: success without resolving the path, as in Wasmtime 49.
      if (updates[0].kind === 'keep' && updates[1].kind === 'keep') return 0;
      const target = path(p, len);
      const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
      setTimesAndRemember(ctx, updates, (a, mt) => dir.setTimesAt(target, follow, a, mt), () => dir.statAt(target, follow));
      return 0;
    },
    path_readlink: (fd: number, p: number, len: number, buf: number, bufLen: number, out: number) => {
      const target = dirOf(fd).readlink(path(p, len));
      // A short buffer gets the truncated target, as Wasmtime does.
      const n = m.write(buf >>> 0, bufLen >>> 0, target);
      m.setU32(out >>> 0, n);
      return 0;
    },
    path_symlink: (oldPtr: number, oldLen: number, fd: number, p: number, len: number) => {
      const target = path(oldPtr, oldLen);
      dirOf(fd).symlink(target, path(p, len));
      return 0;
    },
    path_rename: (fd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number) => {
      const from = dirOf(fd);
      const to = dirOf(newFd);
      from.rename(path(oldPtr, oldLen), to, path(newPtr, newLen));
      return 0;
    },
    path_link: (oldFd: number, oldFlags: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number) => {
      const from = dirOf(oldFd);
      const to = dirOf(newFd);
      // Following a source symlink is not supported: EINVAL, as in Wasmtime 49.
      if (oldFlags & LOOKUP_SYMLINK_FOLLOW) throw new WasiError(Errno.INVAL);
      from.link(path(oldPtr, oldLen), (oldFlags & LOOKUP_SYMLINK_FOLLOW) !== 0, to, path(newPtr, newLen));
      return 0;
    },
  };
}
