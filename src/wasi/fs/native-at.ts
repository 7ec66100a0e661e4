// One-name file operations beneath a held directory descriptor, and
// positioned reads and writes, through the optional native helper
// (native/fs-at.c: openat, fstatat, fstat, unlinkat, pread, pwrite) when it is
// built, else through Node (names on /proc/self/fd/<dirfd>/<name>). Both act
// on exactly one name relative to the descriptor, never following a final
// link, and answer alike (the same descriptors, stats, bytes and error codes):
// test/wasi/fs/native-at.test.ts runs each on the same trees both ways.
// The helper skips Node's fs wrappers and its Stats objects (four Dates per
// stat), which a fresh process otherwise spends its first thousands of file
// calls warming up (docs/RATIONALE.md). A descriptor the helper opened is
// closed through it (closeFd): it closes at a worker's exit those still open,
// as Node does for its own.

import { closeSync, fstatSync, lstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { toFileStat } from './host-stat.js';
import { FileType, type FileStat } from './types.js';
import { procPath } from './walk.js';
import { loadNativeHelper } from './native-helper.js';

interface NativeAt {
  openAt(dirFd: number, name: string, flags: number, mode: number): number;
  lstatAt(dirFd: number, name: string, slots: Float64Array): number;
  fstat(fd: number, slots: Float64Array): number;
  unlinkAt(dirFd: number, name: string): number;
  pread(fd: number, target: Uint8Array, offset: number, length: number, position: number): number;
  pwrite(fd: number, source: Uint8Array, offset: number, length: number, position: number): number;
  /** 0 or -errno for a descriptor the helper opened in this thread; 1, closing nothing, for another. */
  close(fd: number): number;
  STAT_SLOTS: number;
}

let native: NativeAt | null | undefined;
let enabled = true;

function loadNative(): NativeAt | null {
  if (native === undefined) native = loadNativeHelper<NativeAt>('fs-at.node');
  return native;
}

/** The helper when it is built, loadable and not turned off. */
const helper = (): NativeAt | null => (enabled ? (native === undefined ? loadNative() : native) : null);

/** Whether calls go through the native helper (tests compare both ways). */
export function nativeAtAvailable(): boolean {
  return helper() !== null;
}

/** Turns the native helper off or back on (tests measure the fallback with it). */
export function useNativeAt(on: boolean): void {
  enabled = on;
}

/**
 * A failed call of the helper as Node would have thrown it: an Error with the errno's code.
 * Named through node:util, which Node loads to start; node:os, whose errno table this read
 * before, it does not (0.4-0.7 ms of a start that touches a file).
 */
function systemError(errno: number, call: string): Error {
  const name = getSystemErrorName(-errno);
  const code = name.startsWith('E') ? name : 'EIO';
  return Object.assign(new Error(`${code}: ${call}`), { code, errno: -errno });
}

/** Whether the helper may take `name`: one plain name (walk.ts resolves '.' to the directory itself, Node takes that). */
const plainName = (name: string): boolean => name !== '.' && name !== '..';

/**
 * openat(dirFd, name, flags[, mode]). The caller's flags carry O_NOFOLLOW (the
 * helper adds it in any case). Throws as Node's openSync does.
 */
export function openAt(dirFd: number, name: string, flags: number, mode?: number): number {
  const h = helper();
  if (h && plainName(name)) {
    const fd = h.openAt(dirFd, name, flags, mode ?? 0o666);
    if (fd < 0) throw systemError(-fd, 'open');
    return fd;
  }
  return mode === undefined ? openSync(procPath(dirFd, name), flags) : openSync(procPath(dirFd, name), flags, mode);
}

/** unlinkat(dirFd, name, 0): a file or a link, never a directory. Throws as Node's unlinkSync does. */
export function unlinkAt(dirFd: number, name: string): void {
  const h = helper();
  if (h && plainName(name)) {
    const result = h.unlinkAt(dirFd, name);
    if (result < 0) throw systemError(-result, 'unlink');
    return;
  }
  unlinkSync(procPath(dirFd, name));
}

// One buffer for every stat of this thread: written by the helper, read back at once.
const slots = new Float64Array(10);
const unsigned = new BigUint64Array(slots.buffer);
const signed = new BigInt64Array(slots.buffer);
const S_IFMT = 0o170000;

function fileTypeOfMode(mode: number): FileType {
  switch (mode & S_IFMT) {
    case 0o100000: return FileType.RegularFile;
    case 0o040000: return FileType.Directory;
    case 0o120000: return FileType.SymbolicLink;
    case 0o020000: return FileType.CharacterDevice;
    case 0o060000: return FileType.BlockDevice;
    case 0o140000: return FileType.SocketStream;
    default: return FileType.Unknown;
  }
}

function statFromSlots(): FileStat {
  return {
    dev: unsigned[0]!,
    ino: unsigned[1]!,
    filetype: fileTypeOfMode(slots[5]!),
    nlink: BigInt(slots[6]!),
    size: BigInt(slots[7]!),
    atim: signed[2]!,
    mtim: signed[3]!,
    ctim: signed[4]!,
  };
}

/** lstat of `name` in `dirFd` (a link is itself); undefined when nothing is there. Throws as Node's lstatSync does otherwise. */
export function lstatAt(dirFd: number, name: string): FileStat | undefined {
  const h = helper();
  if (h && plainName(name)) {
    const result = h.lstatAt(dirFd, name, slots);
    if (result === 0) return statFromSlots();
    if (result < 0 && getSystemErrorName(result) === 'ENOENT') return undefined;
    throw systemError(-result, 'lstat');
  }
  // ENOENT as undefined, not a thrown error: Node builds a stack trace for each one.
  const stat = lstatSync(procPath(dirFd, name), { bigint: true, throwIfNoEntry: false });
  return stat === undefined ? undefined : toFileStat(stat);
}

/** What an open needs to know of what it opened. */
export interface OpenedShape {
  filetype: FileType;
  size: number;
  /** st_blocks × 512. */
  allocated: number;
  blksize: number;
}

/** fstat of an open descriptor, as much as an open needs. Throws as Node's fstatSync does. */
export function fstatShape(fd: number): OpenedShape {
  const h = helper();
  if (h) {
    const result = h.fstat(fd, slots);
    if (result < 0) throw systemError(-result, 'fstat');
    const type = fileTypeOfMode(slots[5]!);
    // Files and directories by name, anything else as Node's answer below has it: neither.
    const filetype = type === FileType.RegularFile || type === FileType.Directory ? type : FileType.Unknown;
    return { filetype, size: slots[7]!, allocated: slots[8]! * 512, blksize: slots[9]! };
  }
  const stat = fstatSync(fd);
  const filetype = stat.isFile() ? FileType.RegularFile : stat.isDirectory() ? FileType.Directory : FileType.Unknown;
  return { filetype, size: stat.size, allocated: stat.blocks * 512, blksize: stat.blksize };
}

/** pread into target[offset, offset + length) at `position`: bytes read. Throws as Node's readSync does. */
export function readAt(fd: number, target: Uint8Array, offset: number, length: number, position: bigint): number {
  const h = helper();
  // A position past 2^53 is not exact as a Number: Node takes those as a BigInt.
  if (h && position <= MAX_EXACT) {
    const n = h.pread(fd, target, offset, length, Number(position));
    if (n < 0) throw systemError(-n, 'read');
    return n;
  }
  return readSync(fd, target, offset, length, position);
}

/** pwrite of source[offset, offset + length) at `position`: bytes written. Throws as Node's writeSync does. */
export function writeAt(fd: number, source: Uint8Array, offset: number, length: number, position: number): number {
  const h = helper();
  // A position past 2^53 is not exact as a Number: Node's answer for those stays theirs.
  if (h && position <= Number.MAX_SAFE_INTEGER) {
    const n = h.pwrite(fd, source, offset, length, position);
    if (n < 0) throw systemError(-n, 'write');
    return n;
  }
  return writeSync(fd, source, offset, length, position);
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Closes `fd`, whoever opened it: one the helper opened goes back through the helper, which
 * otherwise closes it when this thread's environment ends (a worker terminated at a deadline)
 * and would then close whatever had reused the number; any other through Node, which does the
 * same for its own. Throws as Node's closeSync does.
 */
export function closeFd(fd: number): void {
  // The helper as loaded, even when calls are turned off (a test's useNativeAt(false)): it may own fd.
  if (native) {
    const result = native.close(fd);
    if (result === 0) return;
    if (result < 0) throw systemError(-result, 'close');
  }
  closeSync(fd);
}
