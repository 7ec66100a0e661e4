// A regular file opened beneath a host preopen. The file offset is kept here,
// not in the kernel, so append mode can be switched on and off (Node has no
// fcntl) and positioned I/O never disturbs it.

import { fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, readSync, writeSync } from 'node:fs';
import { Errno, WasiError, errnoFromNodeError } from '../errno.js';
import { closeQuietly } from './close-quietly.js';
import { toFileStat } from './host-stat.js';
import { setFdTimes } from './timestamps.js';
import { allowWrite, chargeWrite } from './quota.js';
import type { File, FileStat, Quota, TimeUpdate } from './types.js';

const MAX_OFFSET = 2n ** 63n - 1n;

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw error instanceof WasiError ? error : new WasiError(errnoFromNodeError(error));
  }
}

export class HostFile implements File {
  readonly kind = 'file' as const;
  private position = 0n;
  private closed = false;

  constructor(
    private readonly fd: number,
    readonly readable: boolean,
    readonly writable: boolean,
    public append: boolean,
    private readonly quota: Quota,
    private readonly now: () => bigint,
  ) {}

  read(target: Uint8Array, position: bigint | null): number {
    if (!this.readable) throw new WasiError(Errno.BADF);
    return wrap(() => {
      const at = position ?? this.position;
      const n = readSync(this.fd, target, 0, target.length, at);
      if (position === null) this.position += BigInt(n);
      return n;
    });
  }

  write(source: Uint8Array, position: bigint | null): number {
    if (!this.writable) throw new WasiError(Errno.BADF);
    return wrap(() => {
      const allowed = allowWrite(this.quota, source.length);
      let at: bigint;
      if (position !== null) at = position;
      else if (this.append) at = fstatSync(this.fd, { bigint: true }).size;
      else at = this.position;
      if (at + BigInt(allowed) > MAX_OFFSET) throw new WasiError(Errno.FBIG);
      const n = writeSync(this.fd, source, 0, allowed, Number(at));
      chargeWrite(this.quota, n);
      if (position === null) this.position = at + BigInt(n);
      return n;
    });
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
    if (!this.writable) throw new WasiError(Errno.BADF);
    if (size > MAX_OFFSET) throw new WasiError(Errno.FBIG);
    wrap(() => {
      const current = fstatSync(this.fd, { bigint: true }).size;
      const growth = size > current ? Number(size - current) : 0;
      if (growth > 0 && allowWrite(this.quota, growth) < growth) {
        this.quota.hits.add('max-write');
        throw new WasiError(Errno.DQUOT);
      }
      ftruncateSync(this.fd, Number(size));
      chargeWrite(this.quota, growth);
    });
  }

  setTimes(atim: TimeUpdate, mtim: TimeUpdate): void {
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
  }
}
