// A byte buffer for rewriting code: the binary writer's encodings, plus a
// copy of a range of the original bytes without making a view of it, a size
// written after its content (a 5-byte LEB reserved in advance), and a result
// handed back as a view rather than a copy.

import { ByteWriter } from '../binary/writer.js';

export interface Emitter {
  u8(byte: number): this;
  u32(value: number): this;
  s32(value: number): this;
  s64(value: bigint): this;
}

export class CodeWriter extends ByteWriter implements Emitter {
  constructor(capacity = 1024) {
    super(capacity);
  }

  /** Appends `source[from, to)`. */
  copy(source: Uint8Array, from: number, to: number): this {
    const n = to - from;
    this.reserve(n);
    const buffer = this.buffer;
    const at = this.length;
    // Short ranges (most between two patch sites) byte by byte: a view per copy would cost more.
    if (n < 64) for (let i = 0; i < n; i++) buffer[at + i] = source[from + i]!;
    else buffer.set(source.subarray(from, to), at);
    this.length = at + n;
    return this;
  }

  /** Reserves a 5-byte u32 to be filled in by `patchSize`; returns where it starts. */
  sizePlaceholder(): number {
    this.reserve(5);
    const at = this.length;
    this.length += 5;
    return at;
  }

  /** Writes the number of bytes after the placeholder at `at` into it, as a padded LEB. */
  patchSize(at: number): void {
    const value = this.length - at - 5;
    for (let i = 0; i < 4; i++) this.buffer[at + i] = ((value >>> (7 * i)) & 0x7f) | 0x80;
    this.buffer[at + 4] = (value >>> 28) & 0x0f;
  }

  /** What was written: a view of the writer's buffer (no copy; write nothing more after). */
  override finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}
