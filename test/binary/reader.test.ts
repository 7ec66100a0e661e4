import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ByteReader } from '../../src/binary/reader.js';
import { ByteWriter } from '../../src/binary/writer.js';
import { WasmDecodeError } from '../../src/binary/errors.js';

const read = (bytes: number[], how: (r: ByteReader) => unknown) => how(new ByteReader(Uint8Array.from(bytes)));

describe('LEB128', () => {
  it('reads known encodings', () => {
    assert.equal(read([0xe5, 0x8e, 0x26], (r) => r.u32()), 624485);
    assert.equal(read([0xff, 0xff, 0xff, 0xff, 0x0f], (r) => r.u32()), 0xffffffff);
    assert.equal(read([0x7f], (r) => r.s32()), -1);
    assert.equal(read([0xc0, 0xbb, 0x78], (r) => r.s32()), -123456);
    assert.equal(read([0x80, 0x80, 0x80, 0x80, 0x78], (r) => r.s32()), -2147483648);
    assert.equal(read([0x80, 0x7f], (r) => r.s64()), -128n);
    assert.equal(read([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f], (r) => r.s64()), -(2n ** 63n));
  });

  it('refuses overlong and out-of-range encodings', () => {
    assert.throws(() => read([0x80, 0x80, 0x80, 0x80, 0x80, 0x00], (r) => r.u32()), WasmDecodeError);
    assert.throws(() => read([0xff, 0xff, 0xff, 0xff, 0x1f], (r) => r.u32()), /out of range/);
    assert.throws(() => read([0xff, 0xff, 0xff, 0xff, 0x4f], (r) => r.s32()), /out of range/);
    assert.throws(() => read([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], (r) => r.s64()), /out of range/);
    assert.throws(() => read([0x80], (r) => r.u32()), /unexpected end/);
  });

  it('round-trips every u32, s32 and s64 the writer produces', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
      assert.equal(read([...new ByteWriter().u32(v).finish()], (r) => r.u32()), v);
    }), { seed: 42, numRuns: 2000 });
    fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => {
      assert.equal(read([...new ByteWriter().s32(v).finish()], (r) => r.s32()), v);
    }), { seed: 42, numRuns: 2000 });
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
      assert.equal(read([...new ByteWriter().s64(v).finish()], (r) => r.s64()), v);
    }), { seed: 42, numRuns: 2000 });
  });

  it('refuses a vector count larger than the bytes that remain', () => {
    assert.throws(() => read([0x10, 1, 2], (r) => r.count('thing', 1000)), /exceeds the bytes that remain/);
    assert.throws(() => read([0x10, 1, 2], (r) => r.count('thing', 4)), /exceeds the limit/);
  });

  it('refuses names that are not UTF-8', () => {
    assert.throws(() => read([2, 0xc3, 0x28], (r) => r.name(100)), /UTF-8/);
    assert.equal(read([2, 0xc3, 0xa9], (r) => r.name(100)), 'é');
  });
});
