import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatWasmValue, toWasmValue } from '../../src/wasi/values.js';

describe('wasm values at the edges', () => {
  it('parses integers signed or unsigned, hex, and refuses what does not fit', () => {
    assert.equal(toWasmValue('-1', 'i32'), -1);
    assert.equal(toWasmValue('4294967295', 'i32'), -1);
    assert.equal(toWasmValue('0x10', 'i32'), 16);
    assert.equal(toWasmValue('18446744073709551615', 'i64'), -1n);
    assert.equal(toWasmValue(2n ** 63n - 1n, 'i64'), 2n ** 63n - 1n);
    assert.throws(() => toWasmValue('4294967296', 'i32'), /32 bits/);
    assert.throws(() => toWasmValue('1.5', 'i64'), /not an integer/);
    assert.throws(() => toWasmValue('', 'i32'), /not an integer/);
  });

  it('parses floats, nan and inf', () => {
    assert.ok(Number.isNaN(toWasmValue('nan', 'f64') as number));
    assert.equal(toWasmValue('-inf', 'f32'), -Infinity);
    assert.equal(toWasmValue('0.1', 'f32'), Math.fround(0.1));
    assert.throws(() => toWasmValue('0x1p3', 'f64'), /not a number/);
  });

  it('prints as Wasmtime does: no exponent, shortest round-trip, f32 at its own precision', () => {
    assert.equal(formatWasmValue(Math.fround(0.1), 'f32'), '0.1');
    assert.equal(formatWasmValue(0.1, 'f64'), '0.1');
    assert.equal(formatWasmValue(1, 'f64'), '1');
    assert.equal(formatWasmValue(1e21, 'f64'), '1000000000000000000000');
    assert.equal(formatWasmValue(1.5e-7, 'f64'), '0.00000015');
    assert.equal(formatWasmValue(-0, 'f64'), '-0');
    assert.equal(formatWasmValue(NaN, 'f32'), 'NaN');
    assert.equal(formatWasmValue(-Infinity, 'f64'), '-inf');
    assert.equal(formatWasmValue(-9223372036854775808n, 'i64'), '-9223372036854775808');
    assert.equal(formatWasmValue(Math.fround(3.4028234663852886e38), 'f32'), '340282350000000000000000000000000000000');
  });
});
