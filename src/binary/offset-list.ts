// Items of a vector section (segments, globals) kept as offsets into the
// module's bytes: 4 bytes each (where the item ends), materialised as an
// object only when asked for. A module of millions of small items costs its
// bytes and a typed array, not millions of objects. The array methods the
// passes use are provided over the iterator; each access reads the item
// again, so objects are fresh and never shared between callers.

import { ByteReader } from './reader.js';

export abstract class OffsetList<T> implements Iterable<T> {
  /**
   * @param first absolute offset of segment 0
   * @param ends absolute offset just after each segment
   */
  constructor(protected readonly bytes: Uint8Array, private readonly first: number, private readonly ends: Uint32Array) {}

  /** Reads one item; the reader spans exactly its bytes. */
  protected abstract read(reader: ByteReader): T;

  get length(): number {
    return this.ends.length;
  }

  /** Item `i` (a fresh object each call), or undefined when out of range. */
  at(i: number): T | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.ends.length) return undefined;
    return this.read(new ByteReader(this.bytes, i === 0 ? this.first : this.ends[i - 1]!, this.ends[i]!));
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.ends.length; i++) yield this.at(i)!;
  }

  forEach(visit: (item: T, index: number) => void): void {
    let i = 0;
    for (const item of this) visit(item, i++);
  }

  some(test: (segment: T, index: number) => boolean): boolean {
    let i = 0;
    for (const segment of this) if (test(segment, i++)) return true;
    return false;
  }

  reduce<A>(step: (acc: A, segment: T, index: number) => A, initial: A): A {
    let acc = initial;
    let i = 0;
    for (const segment of this) acc = step(acc, segment, i++);
    return acc;
  }

  map<U>(f: (segment: T, index: number) => U): U[] {
    const out: U[] = [];
    let i = 0;
    for (const segment of this) out.push(f(segment, i++));
    return out;
  }
}
