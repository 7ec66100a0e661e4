// The nodes of an in-memory filesystem and the state one filesystem shares
// between all its handles: inode numbers, the byte budget, the quota, the
// clock, and the host descriptors of read-only file mounts.

import { fstatSync } from 'node:fs';
import { Errno, WasiError } from '../errno.js';
import { closeQuietly } from './close-quietly.js';
import { FileType, type FileStat, type Quota } from './types.js';

interface NodeBase {
  readonly ino: bigint;
  /** Names that refer to this node; a directory keeps 1 until removed. */
  nlink: number;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

export interface MemFile extends NodeBase {
  readonly kind: 'file';
  /** Backing store; only the first `size` bytes are content. */
  data: Uint8Array;
  size: number;
  /** Open handles: the content outlives its last name until the last close. */
  opens: number;
  /** A read-only host file mounted here: reads go to this descriptor. */
  readonly hostFd?: number;
}

export interface MemDir extends NodeBase {
  readonly kind: 'dir';
  readonly entries: Map<string, MemNode>;
  /** Set by rmdir: a handle may still hold it, but nothing can be created in it. */
  removed: boolean;
}

export interface MemLink extends NodeBase {
  readonly kind: 'link';
  readonly target: string;
}

export type MemNode = MemFile | MemDir | MemLink;

let nextDevice = 1n;

/** What every handle of one in-memory filesystem shares. */
export class MemoryFs {
  readonly dev = 0x6d656d00n + nextDevice++;
  private nextIno = 1n;
  /** File content bytes held (sizes, not capacities). */
  usedBytes = 0;
  /** Open handles; mounted host descriptors are closed when it returns to 0. */
  private handles = 0;
  private readonly hostFds: number[] = [];

  constructor(
    readonly maxBytes: number,
    readonly readOnly: boolean,
    readonly quota: Quota,
    readonly now: () => bigint,
  ) {}

  private base(): NodeBase {
    const t = this.now();
    return { ino: this.nextIno++, nlink: 1, atim: t, mtim: t, ctim: t };
  }

  newDir(): MemDir {
    return { ...this.base(), kind: 'dir', entries: new Map(), removed: false };
  }

  newFile(): MemFile {
    return { ...this.base(), kind: 'file', data: new Uint8Array(0), size: 0, opens: 0 };
  }

  newLink(target: string): MemLink {
    return { ...this.base(), kind: 'link', target };
  }

  newHostFile(hostFd: number): MemFile {
    this.hostFds.push(hostFd);
    return { ...this.base(), kind: 'file', data: new Uint8Array(0), size: 0, opens: 0, hostFd };
  }

  retain(): void {
    this.handles++;
  }

  release(): void {
    if (--this.handles > 0) return;
    for (const fd of this.hostFds.splice(0)) closeQuietly(fd);
  }

  /** Marks `node` changed now (content or entries). */
  touch(node: MemNode): void {
    const t = this.now();
    node.mtim = t;
    node.ctim = t;
  }

  stat(node: MemNode): FileStat {
    const common = { dev: this.dev, ino: node.ino, nlink: BigInt(node.nlink), atim: node.atim, mtim: node.mtim, ctim: node.ctim };
    if (node.kind === 'dir') return { ...common, filetype: FileType.Directory, size: 4096n };
    if (node.kind === 'link') return { ...common, filetype: FileType.SymbolicLink, size: BigInt(Buffer.byteLength(node.target)) };
    if (node.hostFd === undefined) return { ...common, filetype: FileType.RegularFile, size: BigInt(node.size) };
    let host;
    try {
      host = fstatSync(node.hostFd, { bigint: true });
    } catch {
      throw new WasiError(Errno.IO);
    }
    return { ...common, filetype: FileType.RegularFile, size: host.size, atim: host.atimeNs, mtim: host.mtimeNs, ctim: host.ctimeNs };
  }

  /**
   * Sets `file`'s size, growing its store within the filesystem's byte budget
   * (ENOSPC past it, as a full tmpfs). Never allocates more than the budget.
   */
  resize(file: MemFile, size: number): void {
    const growth = size - file.size;
    if (growth > 0 && this.usedBytes + growth > this.maxBytes) throw new WasiError(Errno.NOSPC);
    if (size > file.data.length) {
      // Doubling, but never more than 1 MiB beyond the size: slack stays below the budget.
      const grown = new Uint8Array(Math.min(Math.max(size, file.data.length * 2, 64), size + (1 << 20)));
      grown.set(file.data.subarray(0, file.size));
      file.data = grown;
    } else if (size < file.size) {
      file.data.fill(0, size, file.size);
    }
    this.usedBytes += growth;
    file.size = size;
  }

  /** Bytes a write may still add to the filesystem. */
  spaceLeft(): number {
    return Math.max(0, this.maxBytes - this.usedBytes);
  }

  /** A name of `node` is gone. */
  unlinked(node: MemNode): void {
    node.nlink--;
    node.ctim = this.now();
    if (node.kind === 'file') this.reclaim(node);
  }

  /** A file with no name and no open handle gives its bytes back to the budget. */
  reclaim(file: MemFile): void {
    if (file.nlink > 0 || file.opens > 0 || file.hostFd !== undefined) return;
    this.usedBytes -= file.size;
    file.size = 0;
    file.data = new Uint8Array(0);
  }
}
