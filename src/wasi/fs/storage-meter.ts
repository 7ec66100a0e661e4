// What one writable descriptor makes the host keep, charged to the run's
// write quota. Storage is blocks and apparent size, not bytes written: one
// byte in every 4 KiB page costs a page each, and a write at 1 TiB makes a
// 1 TiB file. A file's footprint is counted as
//
//     max(apparent size, allocated bytes - one page)
//
// and every growth of it is charged. The page taken off is the slack the
// quota promises (storage never exceeds --max-write by more than one page per
// file created), so a 10-byte file costs 10 bytes, not 4 KiB.
//
// The hot path makes no system call: allocation is estimated from the pages a
// write touches that this descriptor has not written before (sequential
// writes extend one remembered run of pages), which can only over-count. Only
// when that estimate would pass the quota is the file measured (fstat: size
// and st_blocks), and the write cut to what fits.

import { DQUOT_WRITE, storageLeft, chargeStorage } from './quota.js';
import type { Quota } from './types.js';

/** The slack one file may hold beyond what is charged for it. */
export const PAGE = 4096;

export interface Measured {
  /** Apparent size in bytes. */
  size: number;
  /** Allocated bytes (st_blocks × 512). */
  allocated: number;
}

const footprint = (size: number, allocated: number): number => Math.max(size, allocated - PAGE);

export class StorageMeter {
  /** The footprint this descriptor has paid for (at open: what was already there, which is not the guest's to pay). */
  private paid: number;
  /** Pages [runFirst, runEnd) this descriptor has written and knows to be allocated. */
  private runFirst = 0;
  private runEnd = 0;

  /**
   * @param unit the filesystem's allocation unit (st_blksize, at least a page): a write is assumed to allocate whole units.
   */
  constructor(
    private readonly quota: Quota,
    private readonly unit: number,
    private size: number,
    private allocated: number,
  ) {
    this.paid = footprint(size, allocated);
    this.learnDense();
  }

  /**
   * A file with as many allocated bytes as its pages span has no holes: every
   * page below its end is known to be allocated, so rewriting it costs nothing.
   */
  private learnDense(): void {
    const pages = Math.ceil(this.size / this.unit);
    if (pages > 0 && this.allocated >= pages * this.unit) {
      this.runFirst = 0;
      this.runEnd = pages;
    } else {
      this.runFirst = this.runEnd = 0;
    }
  }

  /** How many of the units [first, end) a write touches are not known to be allocated. */
  private newUnits(first: number, end: number): number {
    const known = Math.min(end, this.runEnd) - Math.max(first, this.runFirst);
    return end - first - (known > 0 ? known : 0);
  }

  /** What writing [offset, offset + length) would add to the footprint paid for (an upper bound). No allocation: this is the hot path. */
  private cost(offset: number, length: number): number {
    const unit = this.unit;
    const first = Math.floor(offset / unit);
    const end = Math.ceil((offset + length) / unit);
    const size = Math.max(this.size, offset + length);
    const allocated = this.allocated + this.newUnits(first, end) * unit;
    const grown = footprint(size, allocated) - this.paid;
    return grown > 0 ? grown : 0;
  }

  /**
   * How many of `length` bytes at `offset` may be written (EDQUOT when not
   * one). `measure` is called only when the estimate would not fit.
   */
  allow(offset: number, length: number, measure: () => Measured): number {
    if (length === 0) return 0;
    const left = storageLeft(this.quota);
    if (this.cost(offset, length) <= left) return length;
    // The estimate may be stale or high: learn the truth (the run is kept only where the file proves dense).
    this.remeasure(measure());
    if (this.cost(offset, length) <= left) return length;
    if (this.cost(offset, 1) > left) throw DQUOT_WRITE(this.quota);
    // The largest prefix that fits (cost grows with the length).
    let fits = 1;
    let over = length;
    while (over - fits > 1) {
      const mid = Math.floor((fits + over) / 2);
      if (this.cost(offset, mid) <= left) fits = mid;
      else over = mid;
    }
    return fits;
  }

  /** Records a write that happened and charges what it added. */
  wrote(offset: number, length: number): void {
    if (length === 0) return;
    const unit = this.unit;
    const first = Math.floor(offset / unit);
    const end = Math.ceil((offset + length) / unit);
    this.charge(Math.max(this.size, offset + length), this.allocated + this.newUnits(first, end) * unit);
    // Sequential (or overlapping) writes extend the remembered run; a jump starts a new one.
    if (first <= this.runEnd && end >= this.runFirst && this.runEnd > this.runFirst) {
      if (first < this.runFirst) this.runFirst = first;
      if (end > this.runEnd) this.runEnd = end;
    } else {
      this.runFirst = first;
      this.runEnd = end;
    }
  }

  /** Whether resizing to `size` would fit (EDQUOT if not). Shrinking always fits. */
  allowResize(size: number, current: Measured): void {
    this.remeasure(current);
    if (Math.max(0, footprint(Math.max(size, current.size), current.allocated) - this.paid) > storageLeft(this.quota)) {
      throw DQUOT_WRITE(this.quota);
    }
  }

  /** Records the state after a resize (measured again: shrinking frees blocks) and charges any growth. */
  resized(after: Measured): void {
    this.remeasure(after);
    this.charge(after.size, after.allocated);
  }

  private remeasure(now: Measured): void {
    this.size = now.size;
    this.allocated = now.allocated;
    this.learnDense();
  }

  private charge(size: number, allocated: number): void {
    this.size = size;
    this.allocated = allocated;
    const reached = footprint(size, allocated);
    if (reached > this.paid) {
      chargeStorage(this.quota, reached - this.paid);
      this.paid = reached;
    }
  }
}
