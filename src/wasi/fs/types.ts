// The capability filesystem interface. A WASI preopen is a `Directory`; every
// path the guest names is resolved beneath it by the implementation, never by
// the caller. Implementations: host directory (beneath-only resolution over
// real fds), in-memory tree, read-only wrapper, single-file mount.
//
// Errors are thrown as `WasiError` (../errno.ts) carrying a WASI errno; nothing
// else may escape an implementation (a host exception must never reach the guest).

/** WASI preview1 filetype values. */
export const enum FileType {
  Unknown = 0,
  BlockDevice = 1,
  CharacterDevice = 2,
  Directory = 3,
  RegularFile = 4,
  SocketDgram = 5,
  SocketStream = 6,
  SymbolicLink = 7,
}

export interface FileStat {
  dev: bigint;
  ino: bigint;
  filetype: FileType;
  nlink: bigint;
  size: bigint;
  /** Nanoseconds since the Unix epoch. */
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

export interface DirEntry {
  name: string;
  ino: bigint;
  filetype: FileType;
}

/** A timestamp update: leave as is, set to the (policy's) current time, or set to a value in ns. */
export type TimeUpdate = { kind: 'keep' } | { kind: 'now' } | { kind: 'set'; ns: bigint };

export interface OpenOptions {
  /** O_CREAT */
  create: boolean;
  /** O_EXCL */
  exclusive: boolean;
  /** O_TRUNC */
  truncate: boolean;
  /** O_DIRECTORY: fail with ENOTDIR unless the target is a directory. */
  directory: boolean;
  read: boolean;
  write: boolean;
  append: boolean;
  /** Follow a symlink in the final component (lookupflags SYMLINK_FOLLOW). */
  followSymlinks: boolean;
}

/** Per-run counters shared by every mount of one run. */
export interface Quota {
  /** Storage the guest may make the host keep (fs/quota.ts: blocks, apparent size, new names). */
  readonly maxWriteBytes: number;
  /** Files, directories and symlinks created. */
  readonly maxFilesCreated: number;
  /** Storage charged so far (reported as the run's bytesWritten). */
  writtenBytes: number;
  filesCreated: number;
  /** Set by an implementation when it refused an operation for a quota. */
  hits: Set<'max-write' | 'max-files'>;
}

export interface File {
  readonly kind: 'file';
  /** Opened for reading / for writing: what fd_read and fd_write (and the reported rights) allow. */
  readonly readable: boolean;
  readonly writable: boolean;
  /**
   * Reads into the bytes [offset, offset + length) of `target` (the guest's whole memory, the range
   * checked by the caller: no view is made per call); `position` null means the current offset
   * (which advances). Returns bytes read. The range is required, not optional: an implementation
   * that read or wrote all of `target` would hand the guest's other memory to the file.
   */
  read(target: Uint8Array, position: bigint | null, offset: number, length: number): number;
  /**
   * Writes the bytes [offset, offset + length) of `source` (as `read`); `position` null means the
   * current offset (or end, in append mode). Returns bytes written.
   */
  write(source: Uint8Array, position: bigint | null, offset: number, length: number): number;
  /** lseek semantics; whence 0 SET, 1 CUR, 2 END. Returns the new offset. */
  seek(offset: bigint, whence: 0 | 1 | 2): bigint;
  tell(): bigint;
  stat(): FileStat;
  setSize(size: bigint): void;
  setTimes(atim: TimeUpdate, mtim: TimeUpdate): void;
  allocate(offset: bigint, length: bigint): void;
  sync(): void;
  datasync(): void;
  /** Append mode can be toggled by fd_fdstat_set_flags. */
  append: boolean;
  close(): void;
}

export interface Directory {
  readonly kind: 'dir';
  readonly readOnly: boolean;
  /** Opens `path` beneath this directory. Returns a File, or a Directory when the target is one. */
  open(path: string, options: OpenOptions): File | Directory;
  stat(): FileStat;
  statAt(path: string, followSymlinks: boolean): FileStat;
  setTimesAt(path: string, followSymlinks: boolean, atim: TimeUpdate, mtim: TimeUpdate): void;
  setTimes(atim: TimeUpdate, mtim: TimeUpdate): void;
  createDirectory(path: string): void;
  removeDirectory(path: string): void;
  unlinkFile(path: string): void;
  symlink(target: string, path: string): void;
  /** Returns the link's target as stored, as bytes. */
  readlink(path: string): Uint8Array;
  /** `target` must belong to the same filesystem (else EXDEV). */
  rename(from: string, target: Directory, to: string): void;
  link(from: string, followSymlinks: boolean, target: Directory, to: string): void;
  /** Entries in a stable order, without '.' and '..' (the WASI layer adds those). */
  entries(): DirEntry[];
  sync(): void;
  close(): void;
}

/** A directory granted to the guest under a guest path. */
export interface Preopen {
  guestPath: string;
  dir: Directory;
}
