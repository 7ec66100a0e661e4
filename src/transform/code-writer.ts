// A byte buffer for rewriting code: the primitives the emitters use, plus a
// copy of a range of the original bytes without making a view of it, and a
// size written after its content (a 5-byte LEB reserved in advance).

export interface Emitter {
  u8(byte: number): this;
  u32(value: number): this;
  s32(value: number): this;
  s64(value: bigint): this;
}

export class CodeWriter implements Emitter {
  private buffer: Uint8Array;
  length = 0;

  constructor(capacity = 1024) {
    this.buffer = new Uint8Array(capacity);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + n) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  u8(byte: number): this {
    this.reserve(1);
    this.buffer[this.length++] = byte & 0xff;
    return this;
  }

  u32(value: number): this {
    this.reserve(5);
    do {
      let byte = value & 0x7f;
      value = Math.floor(value / 128);
      if (value !== 0) byte |= 0x80;
      this.buffer[this.length++] = byte;
    } while (value !== 0);
    return this;
  }

  s32(value: number): this {
    this.reserve(5);
    let v = value | 0;
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
      this.buffer[this.length++] = done ? byte : byte | 0x80;
      if (done) return this;
    }
  }

  s64(value: bigint): this {
    this.reserve(10);
    let v = BigInt.asIntN(64, value);
    for (;;) {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
      this.buffer[this.length++] = done ? byte : byte | 0x80;
      if (done) return this;
    }
  }

  /** Appends `source[from, to)`. */
  copy(source: Uint8Array, from: number, to: number): this {
    const n = to - from;
    this.reserve(n);
    const buffer = this.buffer;
    if (n < 32) for (let i = 0; i < n; i++) buffer[this.length + i] = source[from + i]!;
    else buffer.set(source.subarray(from, to), this.length);
    this.length += n;
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
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}
