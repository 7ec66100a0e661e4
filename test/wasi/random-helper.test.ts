// The native random helper (native/random.c, through src/wasi/random-bytes.ts):
// it fills exactly the view it is given from OpenSSL's generator, refuses
// anything but a Uint8Array of at most 64 KiB without writing a byte, and a
// guest's random_get goes through it (start-up.test.ts shows Web Crypto is then
// never loaded).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRandom } from '../../src/wasi/random.js';

const helperPath = fileURLToPath(new URL('../../native/random.node', import.meta.url));
const EINVAL = -22;

interface Helper {
  fill(target?: unknown): number;
}

function loadRandomHelper(): Helper | null {
  if (!existsSync(helperPath)) return null;
  const module = { exports: {} as Helper };
  process.dlopen(module, helperPath);
  return module.exports;
}

/** The helper, or null with `t` skipped where it is not built (test/wasi/fs/native-at.test.ts checks that CI builds it). */
function helperOrSkip(t: TestContext): Helper | null {
  const helper = loadRandomHelper();
  if (!helper) t.skip('the native helper is not built here (no C compiler or Node headers)');
  return helper;
}

/** How often each byte value occurs in `bytes`. */
function histogram(bytes: Uint8Array): number[] {
  const counts = new Array<number>(256).fill(0);
  for (const b of bytes) counts[b]!++;
  return counts;
}

describe('the native random helper', () => {
  it('fills a whole buffer, differently each time, every byte value about equally often', (t) => {
    const helper = helperOrSkip(t);
    if (!helper) return;
    const first = new Uint8Array(65536);
    const second = new Uint8Array(65536);
    assert.equal(helper.fill(first), 0);
    assert.equal(helper.fill(second), 0);
    assert.notDeepEqual(first, second);
    // 65,536 bytes: each value's count is about 256 with a spread of 16; these bounds are 6-7 spreads out.
    for (const [value, count] of histogram(first).entries()) assert.ok(count > 150 && count < 370, `value ${value} occurs ${count} times`);
  });

  it('writes only inside the view it is given', (t) => {
    const helper = helperOrSkip(t);
    if (!helper) return;
    const whole = new Uint8Array(4096);
    assert.equal(helper.fill(whole.subarray(1024, 3072)), 0);
    assert.ok(whole.subarray(0, 1024).every((b) => b === 0), 'nothing before the view');
    assert.ok(whole.subarray(3072).every((b) => b === 0), 'nothing after the view');
    assert.ok(whole.subarray(1024, 3072).some((b) => b !== 0), 'the view itself is filled');
    assert.equal(helper.fill(new Uint8Array(0)), 0, 'an empty view is filled at once');
  });

  it('refuses anything but a Uint8Array of at most 64 KiB, writing nothing', (t) => {
    const helper = helperOrSkip(t);
    if (!helper) return;
    const tooLarge = new Uint8Array(65537);
    assert.equal(helper.fill(tooLarge), EINVAL);
    assert.ok(tooLarge.every((b) => b === 0), 'an oversized buffer is left as it was');
    const words = new Uint16Array(8);
    assert.equal(helper.fill(words), EINVAL);
    assert.ok(words.every((w) => w === 0));
    for (const wrong of [new DataView(new ArrayBuffer(8)), new ArrayBuffer(8), 8, 'bytes', null, undefined]) {
      assert.equal(helper.fill(wrong), EINVAL, `fill(${String(wrong)})`);
    }
    assert.equal(helper.fill(), EINVAL, 'fill()');
  });
});

describe("the OS random source a guest's random_get reads", () => {
  it('hands out bytes that differ from draw to draw, across batch refills and past 64 KiB', () => {
    const source = createRandom({ kind: 'os' });
    const seen = new Set<string>();
    // 300 draws of 16 bytes cross the first 256-byte batch and several refills.
    for (let i = 0; i < 300; i++) {
      const draw = new Uint8Array(16);
      source.fill(draw, 0, 16);
      seen.add(Buffer.from(draw).toString('hex'));
    }
    assert.equal(seen.size, 300);
    const large = new Uint8Array(200_000);
    source.fill(large, 0, large.length);
    for (const [value, count] of histogram(large).entries()) assert.ok(count > 550 && count < 1020, `value ${value} occurs ${count} times`);
  });
});
