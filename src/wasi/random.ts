// Randomness as a capability: the OS CSPRNG, or a seeded generator for
// reproducible runs. Bytes go straight into guest memory in bounded chunks.

import { fillRandom } from './random-bytes.js';

export type RandomPolicy = { kind: 'os' } | { kind: 'seeded'; seed: number };

export interface RandomSource {
  readonly policy: RandomPolicy;
  /** Fills `length` bytes of `target` from `offset` (the caller has checked the range). */
  fill(target: Uint8Array, offset: number, length: number): void;
}

/** The most random_get fills in one call; larger requests are filled in pieces of this size. */
const CHUNK = 64 * 1024;

/** Requests up to this size are copied byte by byte: cheaper than the two views and two calls of a bulk copy. */
const SMALL = 64;

/** A run's first batch: many guests ask once for a few bytes (a hash seed) and never again. */
const FIRST_BATCH = 256;

/**
 * The OS CSPRNG, drawn in batches: most guests ask for a few bytes at a
 * time, and one crypto call per request would dominate. The first batch is
 * 256 bytes and each next one twice the last, up to 64 KiB, so a run that
 * wants a seed does not pay for 64 KiB (about 10 µs here, against 2 µs) and
 * one that keeps asking soon draws 64 KiB at a time. Every byte is used
 * once and handed to exactly one guest: the pool's copy is zeroed as it is
 * handed out, and the pool is refilled only once every byte of it is spent
 * or too few are left for a request (a pool replaced by a larger one takes
 * its unspent bytes with it, never handed out).
 */
class OsRandom implements RandomSource {
  readonly policy = { kind: 'os' } as const;
  private pool = new Uint8Array(0);
  private used = 0;

  fill(target: Uint8Array, offset: number, length: number): void {
    if (length > CHUNK) {
      for (let at = 0; at < length; at += CHUNK) fillRandom(target.subarray(offset + at, offset + Math.min(length, at + CHUNK)));
      return;
    }
    if (this.pool.length - this.used < length) {
      const size = Math.min(CHUNK, Math.max(length, this.pool.length * 2, FIRST_BATCH));
      if (size !== this.pool.length) this.pool = new Uint8Array(size);
      fillRandom(this.pool);
      this.used = 0;
    }
    const pool = this.pool;
    const from = this.used;
    this.used = from + length;
    if (length <= SMALL) {
      for (let i = 0; i < length; i++) {
        target[offset + i] = pool[from + i]!;
        pool[from + i] = 0;
      }
      return;
    }
    target.set(pool.subarray(from, from + length), offset);
    pool.fill(0, from, from + length);
  }
}

/** xoshiro128** seeded by splitmix32: fast, deterministic, not for secrets. */
class SeededRandom implements RandomSource {
  readonly policy: RandomPolicy;
  private s = new Uint32Array(4);
  constructor(seed: number) {
    this.policy = { kind: 'seeded', seed };
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }
  private next(): number {
    const s = this.s;
    const result = Math.imul(((Math.imul(s[1]!, 5) << 7) | (Math.imul(s[1]!, 5) >>> 25)), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!; s[3]! ^= s[1]!; s[1]! ^= s[2]!; s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = ((s[3]! << 11) | (s[3]! >>> 21)) >>> 0;
    return result;
  }
  fill(target: Uint8Array, offset: number, length: number): void {
    const end = offset + length;
    let i = offset;
    for (; i + 4 <= end; i += 4) {
      const v = this.next();
      target[i] = v; target[i + 1] = v >>> 8; target[i + 2] = v >>> 16; target[i + 3] = v >>> 24;
    }
    if (i < end) {
      const v = this.next();
      for (let k = 0; i < end; i++, k += 8) target[i] = v >>> k;
    }
  }
}

export function createRandom(policy: RandomPolicy): RandomSource {
  return policy.kind === 'os' ? new OsRandom() : new SeededRandom(policy.seed);
}
