// Checked access to the guest's linear memory. Views are cached and rebuilt
// only when memory.grow has replaced the buffer, so the hot WASI calls
// allocate nothing. Every pointer and length is checked before use; a bad one
// is EFAULT for the guest, never a host exception.

import { Errno, WasiError } from './errno.js';
import { adviseGuestMemory } from './huge-pages.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Node's native Latin-1 reader of a byte range (Buffer's own, which takes any Uint8Array); absent elsewhere. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;
const utf8Encoder = new TextEncoder();

/** What a host without a guest's memory reads through: nothing (zero-length views, shared: none can hold a byte). */
const NO_BYTES: Uint8Array = new Uint8Array(0);
const NO_VIEW: DataView = new DataView(new ArrayBuffer(0));

export class GuestMemory {
  private memory: WebAssembly.Memory | null = null;
  private buffer: ArrayBuffer | null = null;
  private u8: Uint8Array = NO_BYTES;
  private view: DataView = NO_VIEW;
  /**
   * The views made when a lent memory was attached, kept for its next attach
   * (views of a buffer span all of it for the buffer's whole life): never read
   * while detached, so no run reaches memory through them that it was not given.
   */
  private made: { buffer: ArrayBufferLike; u8: Uint8Array; view: DataView } | null = null;
  /**
   * Ranges of the guest's memory its hardening keeps writes out of (the null page, constant
   * data), as [start, end) pairs; empty for a module without such guards. The guards check the
   * module's own stores; this makes the host's writes for it (fd_read, args_get, a filestat)
   * EFAULT there too, instead of landing where the module's own store would have trapped.
   */
  private writeGuarded: readonly number[] = [];

  /** The ranges the module's hardening guards against writes, for this run (none: an empty list). */
  guardWrites(ranges: readonly number[]): void {
    this.writeGuarded = ranges;
  }

  /** Forgets the last run's memory, so no view of it survives into the next run. */
  detach(): void {
    this.memory = null;
    this.buffer = null;
    this.u8 = NO_BYTES;
    this.view = NO_VIEW;
  }

  /**
   * `lent`: the memory is one a thread's pool lends run after run, whose
   * views at its initial size are worth keeping for its next run (a pair of
   * views per run otherwise). Views of any other memory, or made after it
   * grew, are not kept: they would hold memory no pool keeps.
   */
  attach(memory: WebAssembly.Memory, lent = false): void {
    this.memory = memory;
    const buffer = memory.buffer;
    let made = this.made;
    if (!lent || made?.buffer !== buffer) {
      made = { buffer, u8: new Uint8Array(buffer), view: new DataView(buffer) };
      this.made = lent ? made : null;
    }
    this.buffer = buffer;
    this.u8 = made.u8;
    this.view = made.view;
    // Pages the guest touches from here on come two megabytes per fault where the kernel has them.
    adviseGuestMemory(buffer);
  }

  /**
   * Re-reads memory.buffer, which memory.grow replaces. Called once as each
   * host call starts: the guest cannot grow its memory while the host runs,
   * so the views stay valid for the whole call.
   */
  sync(): void {
    // memory.grow detaches the old buffer (its length drops to 0), which is
    // cheaper to notice than reading memory.buffer on every call.
    const memory = this.memory;
    if (memory && (this.buffer === null || this.buffer.byteLength === 0)) this.refresh(memory);
  }

  bytes(): Uint8Array {
    if (!this.memory) throw new WasiError(Errno.FAULT);
    return this.u8;
  }

  data(): DataView {
    return this.view;
  }

  private refresh(memory: WebAssembly.Memory): void {
    this.buffer = memory.buffer;
    this.u8 = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
    adviseGuestMemory(this.buffer);
  }

  /** Throws EFAULT unless [ptr, ptr + length) lies inside memory. */
  check(ptr: number, length: number): void {
    const size = this.u8.length;
    if (ptr < 0 || length < 0 || ptr > size || length > size - ptr) throw new WasiError(Errno.FAULT);
  }

  /**
   * Throws EFAULT unless [ptr, ptr + length) lies inside memory and outside every range the module's
   * hardening guards against writes: every host write into guest memory is checked here first.
   */
  checkWrite(ptr: number, length: number): void {
    this.check(ptr, length);
    const guarded = this.writeGuarded;
    for (let i = 0; i < guarded.length; i += 2) {
      if (length > 0 && ptr < guarded[i + 1]! && ptr + length > guarded[i]!) throw new WasiError(Errno.FAULT);
    }
  }

  slice(ptr: number, length: number): Uint8Array {
    this.check(ptr, length);
    return this.u8.subarray(ptr, ptr + length);
  }

  u32(ptr: number): number {
    this.check(ptr, 4);
    return this.view.getUint32(ptr, true);
  }

  setU8(ptr: number, value: number): void {
    this.checkWrite(ptr, 1);
    this.view.setUint8(ptr, value);
  }

  setU16(ptr: number, value: number): void {
    this.checkWrite(ptr, 2);
    this.view.setUint16(ptr, value, true);
  }

  setU32(ptr: number, value: number): void {
    this.checkWrite(ptr, 4);
    this.view.setUint32(ptr, value, true);
  }

  setU64(ptr: number, value: bigint): void {
    this.checkWrite(ptr, 8);
    // setBigUint64 itself takes the value modulo 2^64 (ToBigUint64): no BigInt.asUintN, one allocation fewer per clock read.
    this.view.setBigUint64(ptr, value, true);
  }

  /** A guest string; EILSEQ when it is not UTF-8. */
  string(ptr: number, length: number): string {
    this.check(ptr, length);
    // ASCII (nearly every path): read straight from memory, each byte one character, as UTF-8
    // decodes it. No view and no decoder: in a fresh process, 8,000 short paths took 5-8 ms
    // this way against 16-24 ms through subarray and TextDecoder.
    const u8 = this.u8;
    const end = ptr + length;
    let ascii = latin1Slice !== undefined;
    for (let i = ptr; ascii && i < end; i++) if (u8[i]! > 0x7f) ascii = false;
    if (ascii) return latin1Slice!.call(u8, ptr, end);
    try {
      return utf8.decode(u8.subarray(ptr, end));
    } catch {
      throw new WasiError(Errno.ILSEQ);
    }
  }

  /**
   * A guest path or other bounded string: the raw byte length is checked
   * against `maxBytes` before anything is decoded or copied, so a 500 MB
   * "path" costs a comparison, not a 500 MB decode (ENAMETOOLONG).
   */
  boundedString(ptr: number, length: number, maxBytes: number): string {
    this.check(ptr, length);
    if (length > maxBytes) throw new WasiError(Errno.NAMETOOLONG);
    return this.string(ptr, length);
  }

  /** Copies as much of `data` as fits in [ptr, ptr + capacity); returns bytes written. */
  write(ptr: number, capacity: number, data: Uint8Array): number {
    const n = Math.min(capacity, data.length);
    this.checkWrite(ptr, n);
    this.u8.set(n === data.length ? data : data.subarray(0, n), ptr);
    return n;
  }
}

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}
