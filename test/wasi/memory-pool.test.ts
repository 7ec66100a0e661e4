// The pool's own rules: what it keeps, that kept memories come back zeroed,
// and its bounds. (test/sandbox/lent-memory.test.ts runs guests on it.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryPool } from '../../src/wasi/memory-pool.js';

const PAGE = 65536;
const shape = { initial: 2, maximum: 8 };
const dirty = (memory: WebAssembly.Memory) => { new Uint8Array(memory.buffer).fill(0x5a); return memory; };
const allZero = (memory: WebAssembly.Memory) => new Uint8Array(memory.buffer).every((b) => b === 0);

describe('memory pool', () => {
  it('lends a new memory of the shape, and takes back a used one zeroed', () => {
    const pool = new MemoryPool();
    const first = pool.acquire(shape);
    assert.equal(first.buffer.byteLength, 2 * PAGE);
    assert.equal(first.grow(6), 2, 'the maximum is the shape\'s');
    assert.throws(() => first.grow(1), RangeError);
    const second = pool.acquire(shape);
    pool.release(dirty(second), shape);
    assert.equal(pool.bytes, 2 * PAGE);
    const again = pool.acquire(shape);
    assert.equal(again, second, 'the kept memory is lent again');
    assert.ok(allZero(again), 'and it is all zeros');
    assert.equal(pool.bytes, 0);
  });

  it('lends a kept memory only for the same shape', () => {
    const pool = new MemoryPool();
    const kept = pool.acquire(shape);
    pool.release(kept, shape);
    assert.notEqual(pool.acquire({ initial: 2, maximum: null }), kept);
    assert.notEqual(pool.acquire({ initial: 2, maximum: 9 }), kept);
    assert.equal(pool.acquire(shape), kept);
  });

  it('does not keep a memory that grew, one too large, or more than its bound', () => {
    const pool = new MemoryPool(4 * PAGE, 2 * PAGE);
    const grown = pool.acquire(shape);
    grown.grow(1);
    pool.release(grown, shape);
    assert.equal(pool.bytes, 0, 'a grown memory would start the next instance bigger than its module');
    const big = { initial: 3, maximum: null };
    pool.release(pool.acquire(big), big);
    assert.equal(pool.bytes, 0, 'over the size kept');
    for (let i = 0; i < 3; i++) pool.release(new WebAssembly.Memory({ initial: 2, maximum: 8 }), shape);
    assert.equal(pool.bytes, 4 * PAGE, 'two of three kept under a bound of four pages');
  });
});
