// A regular file opened beneath a host preopen. The file offset is kept here,
// not in the kernel, so append mode can be switched on and off (Node has no
// fcntl) and positioned I/O never disturbs it.

import { constants, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { Errno, WasiError, asWasiError } from '../errno.js';
import { closeQuietly } from './close-quietly.js';
import { readAt, writeAt } from './native-at.js';
import { toFileStat } from './host-stat.js';
import { setFdTimes } from './timestamps.js';
import { PAGE, StorageMeter, type Measured } from './storage-meter.js';
import { READ_ONLY_DESCRIPTOR } from './refusals.js';
import type { File, FileStat, Quota, TimeUpdate } from './types.js';

const MAX_OFFSET = 2n ** 63n - 1n;

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw asWasiError(error);
  }
}

export class HostFile implements File {
  readonly kind = 'file' as const;
  private position = 0n;
  private closed = false;
  /** This file reopened O_APPEND for append-mode writes, once the first one comes (-1 before). */
  private appendFd = -1;

  constructor(
    private readonly fd: number,
    readonly readable: boolean,
    readonly writable: boolean,
    public append: boolean,
    private readonly quota: Quota,
    private readonly now: () => bigint,
    /** Opened from a read-only mount: no fd_* call may change the host file, timestamps included. */
    private readonly readOnlyMount = false,
    /** For a writable file: its size, allocated bytes and allocation unit when opened. */
    known?: Measured & { unit: number },
  ) {
    this.storage = writable ? new StorageMeter(quota, known?.unit ?? PAGE, known?.size ?? 0, known?.allocated ?? 0) : null;
  }

  /** What this descriptor makes the host keep, charged to the write quota. */
  private readonly storage: StorageMeter | null;

  /** Stops fd_filestat_set_times/set_size through a descriptor of a read-only mount (Wasmtime: EPERM). */
  private mutable(): void {
    if (this.readOnlyMount) throw new WasiError(READ_ONLY_DESCRIPTOR);
  }

  // read and write catch inline rather than through `wrap`: no closure per call on the hot path.
  read(target: Uint8Array, position: bigint | null, offset: number, length: number): number {
    if (!this.readable) throw new WasiError(Errno.BADF);
    try {
      const at = position ?? this.position;
      const n = readAt(this.fd, target, offset, length, at);
      if (position === null) this.position += BigInt(n);
      return n;
    } catch (error) {
      throw asWasiError(error);
    }
  }

  write(source: Uint8Array, position: bigint | null, offset: number, length: number): number {
    if (!this.writable) throw new WasiError(Errno.BADF);
    try {
      const appending = position === null && this.append;
      let at: bigint;
      if (position !== null) at = position;
      else if (appending) at = fstatSync(this.fd, { bigint: true }).size;
      else at = this.position;
      if (at + BigInt(length) > MAX_OFFSET) throw new WasiError(Errno.FBIG);
      const fileOffset = Number(at);
      // Charged by what the write makes the host keep (blocks, apparent size): EDQUOT or a short write past the quota.
      const allowed = this.storage!.allow(fileOffset, length, this.measure);
      // An append goes through an O_APPEND descriptor, where the kernel finds the end and writes there as one
      // step: the end found by fstat above may be stale by the time of the write when another run (another
      // request of the same tenant) appends to the same file, and a pwrite there would overwrite its line.
      const n = appending ? writeSync(this.appendDescriptor(), source, offset, allowed) : writeAt(this.fd, source, offset, allowed, fileOffset);
      this.storage!.wrote(fileOffset, n);
      if (position === null) this.position = at + BigInt(n);
      return n;
    } catch (error) {
      throw asWasiError(error);
    }
  }

  seek(offset: bigint, whence: 0 | 1 | 2): bigint {
    const base = whence === 0 ? 0n : whence === 1 ? this.position : wrap(() => fstatSync(this.fd, { bigint: true }).size);
    const next = base + offset;
    if (next < 0n || next > MAX_OFFSET) throw new WasiError(Errno.INVAL);
    this.position = next;
    return next;
  }

  tell(): bigint {
    return this.position;
  }

  stat(): FileStat {
    return wrap(() => toFileStat(fstatSync(this.fd, { bigint: true })));
  }

  setSize(size: bigint): void {
    this.mutable();
    // Opened without write: EINVAL, as ftruncate and Wasmtime 49 answer.
    if (!this.writable) throw new WasiError(Errno.INVAL);
    if (size > MAX_OFFSET) throw new WasiError(Errno.FBIG);
    wrap(() => {
      // Growing the apparent size is storage too (a 1 TiB sparse file is refused under a smaller quota).
      this.storage!.allowResize(Number(size), this.measure());
      ftruncateSync(this.fd, Number(size));
      this.storage!.resized(this.measure());
    });
  }

  /** The file's size and allocated bytes, from the host (bound once: the write path allocates no closure). */
  private readonly measure = (): Measured => {
    const stat = fstatSync(this.fd);
    return { size: stat.size, allocated: stat.blocks * 512 };
  };

  setTimes(atim: TimeUpdate, mtim: TimeUpdate): void {
    this.mutable();
    wrap(() => setFdTimes(this.fd, atim, mtim, this.now));
  }

  allocate(): void {
    // preview1's fd_allocate is refused, as Wasmtime does: it is gone from later WASI versions.
    throw new WasiError(Errno.NOTSUP);
  }

  sync(): void {
    wrap(() => fsyncSync(this.fd));
  }

  datasync(): void {
    wrap(() => fdatasyncSync(this.fd));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeQuietly(this.fd);
    if (this.appendFd >= 0) closeQuietly(this.appendFd);
  }

  /**
   * This very file opened again for appending, through its /proc/self/fd magic link: the kernel
   * reopens the inode the descriptor holds, so no name is resolved and nothing the guest controls
   * is walked. Opened at the first append (most files never append) and kept until close: at most
   * one more host descriptor per guest descriptor (the guest's are capped by limits.fds).
   */
  private appendDescriptor(): number {
    if (this.appendFd < 0) this.appendFd = openSync(`/proc/self/fd/${this.fd}`, constants.O_WRONLY | constants.O_APPEND);
    return this.appendFd;
  }
}
