// Node's bigint stats to WASI filestats.

import type { BigIntStats } from 'node:fs';
import { FileType, type FileStat } from './types.js';

export function fileTypeOf(stat: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): FileType {
  if (stat.isFile()) return FileType.RegularFile;
  if (stat.isDirectory()) return FileType.Directory;
  if (stat.isSymbolicLink()) return FileType.SymbolicLink;
  if (stat.isCharacterDevice()) return FileType.CharacterDevice;
  if (stat.isBlockDevice()) return FileType.BlockDevice;
  if (stat.isSocket()) return FileType.SocketStream;
  return FileType.Unknown;
}

export function toFileStat(stat: BigIntStats): FileStat {
  return {
    dev: stat.dev,
    ino: stat.ino,
    filetype: fileTypeOf(stat),
    nlink: stat.nlink,
    size: stat.size,
    atim: stat.atimeNs,
    mtim: stat.mtimeNs,
    ctim: stat.ctimeNs,
  };
}
