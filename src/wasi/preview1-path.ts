// preview1 path functions: every path is resolved by the directory capability
// the descriptor holds; these functions only decode arguments and encode results.

import type { WasiContext } from './context.js';
import { Errno, WasiError } from './errno.js';
import type { Directory } from './fs/types.js';
import { timeUpdates, writeFilestat, FDFLAGS } from './preview1-fd.js';
import { DIRECTORY_RIGHTS, READ_ONLY_DIRECTORY_RIGHTS, RIGHTS, fileRightsFor } from './rights.js';

const LOOKUP_SYMLINK_FOLLOW = 1;
const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;

const READ_RIGHTS = RIGHTS.FD_READ | RIGHTS.FD_READDIR;
const WRITE_RIGHTS = RIGHTS.FD_DATASYNC | RIGHTS.FD_WRITE | RIGHTS.FD_ALLOCATE | RIGHTS.FD_FILESTAT_SET_SIZE;

export function pathFunctions(ctx: WasiContext) {
  const m = ctx.memory;
  const fds = ctx.fds;

  function dirOf(fd: number): Directory {
    const entry = fds.get(fd);
    if (entry.kind !== 'dir') throw new WasiError(Errno.NOTDIR);
    return entry.dir;
  }

  const path = (ptr: number, len: number): string => m.string(ptr >>> 0, len >>> 0);

  return {
    path_open: (fd: number, dirflags: number, pathPtr: number, pathLen: number, oflags: number, rightsBase: bigint, rightsInheriting: bigint, fdflags: number, out: number) => {
      const entry = fds.get(fd);
      if (entry.kind !== 'dir') throw new WasiError(Errno.NOTDIR);
      const p = path(pathPtr, pathLen);
      if (oflags & ~0xf || fdflags & ~0x1f) throw new WasiError(Errno.INVAL);
      const wantsWrite = (rightsBase & WRITE_RIGHTS) !== 0n || (oflags & OFLAGS.TRUNC) !== 0;
      const wantsRead = (rightsBase & READ_RIGHTS) !== 0n || !wantsWrite;
      const directory = (oflags & OFLAGS.DIRECTORY) !== 0;
      if (directory && (oflags & (OFLAGS.CREAT | OFLAGS.TRUNC))) throw new WasiError(Errno.INVAL);
      const opened = entry.dir.open(p, {
        create: (oflags & OFLAGS.CREAT) !== 0,
        exclusive: (oflags & OFLAGS.EXCL) !== 0,
        truncate: (oflags & OFLAGS.TRUNC) !== 0,
        directory,
        read: wantsRead,
        write: wantsWrite && !directory,
        append: (fdflags & FDFLAGS.APPEND) !== 0,
        followSymlinks: (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0,
      });
      let newFd: number;
      try {
        if (opened.kind === 'dir') {
          const rights = opened.readOnly ? READ_ONLY_DIRECTORY_RIGHTS : DIRECTORY_RIGHTS;
          newFd = fds.add({ kind: 'dir', dir: opened, preopen: null, rights: rights & (rightsBase | rights), inheriting: rightsInheriting & entry.inheriting, flags: fdflags & ~FDFLAGS.APPEND });
        } else {
          const rights = fileRightsFor(wantsRead, wantsWrite);
          newFd = fds.add({ kind: 'file', file: opened, rights, inheriting: 0n, flags: fdflags });
        }
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
      const [a, mt] = timeUpdates(fst, atim, mtim);
      dirOf(fd).setTimesAt(path(p, len), (flags & LOOKUP_SYMLINK_FOLLOW) !== 0, a, mt);
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
      from.link(path(oldPtr, oldLen), (oldFlags & LOOKUP_SYMLINK_FOLLOW) !== 0, to, path(newPtr, newLen));
      return 0;
    },
  };
}
