// The guest's descriptor table: stdio at 0-2, preopens from 3, then whatever
// the guest opens, always at the lowest free number. Bounded by the grant.

import { Errno, WasiError } from './errno.js';
import type { Directory, File } from './fs/types.js';
import type { InputStream, OutputStream } from './stdio.js';

/**
 * A stdio stream's place on the host: the host descriptor it reaches (null for
 * a capture, a buffer, nothing, or a file named by path), and whether that is a
 * terminal, found on first asking.
 */
export interface StdioHost {
  hostFd: number | null;
  terminal?: boolean;
}

/** An open descriptor. Its rights follow from its kind and open mode (rights.ts), so none are stored. */
export type FdEntry =
  | ({ kind: 'stdin'; stream: InputStream; flags: number } & StdioHost)
  | ({ kind: 'stdout'; stream: OutputStream; flags: number } & StdioHost)
  | { kind: 'file'; file: File; flags: number }
  | { kind: 'dir'; dir: Directory; preopen: string | null; flags: number; cookieCache?: unknown };

export class FdTable {
  private readonly entries: Array<FdEntry | undefined> = [];
  private open = 0;

  constructor(public maxFds: number) {}

  /** Empties the table (closing nothing: the run closed its entries) for a new run. */
  reset(maxFds: number): void {
    this.entries.length = 0;
    this.open = 0;
    this.maxFds = maxFds;
  }

  get count(): number {
    return this.open;
  }

  get(fd: number): FdEntry {
    const entry = fd >= 0 ? this.entries[fd] : undefined;
    if (!entry) throw new WasiError(Errno.BADF);
    return entry;
  }

  /** Places `entry` at the lowest free descriptor; EMFILE when the table is full. */
  add(entry: FdEntry): number {
    if (this.open >= this.maxFds) throw new WasiError(Errno.MFILE);
    let fd = this.entries.indexOf(undefined);
    if (fd === -1) fd = this.entries.length;
    this.entries[fd] = entry;
    this.open++;
    return fd;
  }

  /** Removes a descriptor, returning its entry for the caller to close. */
  remove(fd: number): FdEntry {
    const entry = this.get(fd);
    this.entries[fd] = undefined;
    this.open--;
    return entry;
  }

  /** fd_renumber: `to` must be open; it is closed and replaced by `from`. */
  renumber(from: number, to: number): FdEntry | null {
    const source = this.get(from);
    const target = this.get(to);
    if (from === to) return null;
    this.entries[to] = source;
    this.entries[from] = undefined;
    this.open--;
    return target;
  }

  /** Every open entry, for closing them all at the end of a run. */
  drain(): FdEntry[] {
    const all = this.entries.filter((e): e is FdEntry => e !== undefined);
    this.entries.length = 0;
    this.open = 0;
    return all;
  }
}

export function closeEntry(entry: FdEntry): void {
  if (entry.kind === 'file') entry.file.close();
  else if (entry.kind === 'dir') entry.dir.close();
}
