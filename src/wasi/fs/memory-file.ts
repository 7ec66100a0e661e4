// An open regular file of an in-memory filesystem (or a read-only host file
// mounted into one). Writes are charged to the run's quota (EDQUOT) and to
// the filesystem's byte budget (ENOSPC).

import { readSync } from 'node:fs';
import { Errno, WasiError, errnoFromNodeError } from '../errno.js';
import type { MemFile, MemoryFs } from './memory-node.js';
import { allowWrite, chargeWrite } from './quota.js';
import { READ_ONLY } from './refusals.js';
import type { File, FileStat, TimeUpdate } from './types.js';

const MAX_OFFSET = 2n ** 63n - 1n;

export function applyTimes(node: { atim: bigint; mtim: bigint; ctim: bigint }, atim: TimeUpdate, mtim: TimeUpdate, now: () => bigint): void {
  if (atim.kind !== 'keep') node.atim = atim.kind === 'now' ? now() : atim.ns;
  if (mtim.kind !== 'keep') node.mtim = mtim.kind === 'now' ? now() : mtim.ns;
  node.ctim = now();
}

export class MemoryFile implements File {
  readonly kind = 'file' as const;
  private position = 0n;
  private closed = false;

  constructor(
    private readonly fs: MemoryFs,
    private readonly node: MemFile,
    readonly readable: boolean,
    readonly writable: boolean,
    public append: boolean,
  ) {
    node.opens++;
    fs.retain();
  }

  private live(): MemFile {
    if (this.closed) throw new WasiError(Errno.BADF);
    return this.node;
  }

  read(target: Uint8Array, position: bigint | null): number {
    const node = this.live();
    if (!this.readable) throw new WasiError(Errno.BADF);
    const at = position ?? this.position;
    let n: number;
    if (node.hostFd !== undefined) {
      try {
        n = readSync(node.hostFd, target, 0, target.length, at);
      } catch (error) {
        throw new WasiError(errnoFromNodeError(error));
      }
    } else if (at >= BigInt(node.size)) {
      n = 0;
    } else {
      const start = Number(at);
      n = Math.min(target.length, node.size - start);
      target.set(node.data.subarray(start, start + n));
    }
    if (position === null) this.position += BigInt(n);
    return n;
  }

  write(source: Uint8Array, position: bigint | null): number {
    const node = this.live();
    if (!this.writable) throw new WasiError(Errno.BADF);
    const allowed = allowWrite(this.fs.quota, source.length);
    const at = position ?? (this.append ? BigInt(node.size) : this.position);
    if (at + BigInt(allowed) > MAX_OFFSET) throw new WasiError(Errno.FBIG);
    const start = Number(at);
    // A write that grows the file may be cut short by the byte budget, as by a full disk.
    const growthRoom = this.fs.spaceLeft() + node.size - start;
    const n = Math.min(allowed, Math.max(0, growthRoom));
    if (n === 0 && allowed > 0) throw new WasiError(Errno.NOSPC);
    if (start + n > node.size) this.fs.resize(node, start + n);
    node.data.set(source.subarray(0, n), start);
    chargeWrite(this.fs.quota, n);
    if (n > 0) this.fs.touch(node);
    if (position === null) this.position = at + BigInt(n);
    return n;
  }

  seek(offset: bigint, whence: 0 | 1 | 2): bigint {
    const node = this.live();
    const base = whence === 0 ? 0n : whence === 1 ? this.position : BigInt(this.fs.stat(node).size);
    const next = base + offset;
    if (next < 0n || next > MAX_OFFSET) throw new WasiError(Errno.INVAL);
    this.position = next;
    return next;
  }

  tell(): bigint {
    this.live();
    return this.position;
  }

  stat(): FileStat {
    return this.fs.stat(this.live());
  }

  setSize(size: bigint): void {
    const node = this.live();
    if (!this.writable) throw new WasiError(Errno.INVAL);
    if (size > MAX_OFFSET) throw new WasiError(Errno.FBIG);
    const growth = size > BigInt(node.size) ? Number(size - BigInt(node.size)) : 0;
    if (growth > 0 && allowWrite(this.fs.quota, growth) < growth) {
      this.fs.quota.hits.add('max-write');
      throw new WasiError(Errno.DQUOT);
    }
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new WasiError(Errno.NOSPC);
    this.fs.resize(node, Number(size));
    chargeWrite(this.fs.quota, growth);
    this.fs.touch(node);
  }

  setTimes(atim: TimeUpdate, mtim: TimeUpdate): void {
    const node = this.live();
    if (this.fs.readOnly || node.hostFd !== undefined) throw new WasiError(READ_ONLY);
    applyTimes(node, atim, mtim, this.fs.now);
  }

  allocate(): void {
    this.live();
    // As the host files (and Wasmtime): fd_allocate is gone from later WASI versions.
    throw new WasiError(Errno.NOTSUP);
  }

  sync(): void {
    this.live();
  }

  datasync(): void {
    this.live();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.node.opens--;
    this.fs.reclaim(this.node);
    this.fs.release();
  }
}
