// The prepared-module cache's digests go through the native helper when it is
// built (native/digest.c, OpenSSL as Node carries it), else through
// node:crypto. Both must answer exactly as node:crypto does: on published
// vectors, on every length around SHA-256's block boundaries, on views into
// larger buffers, and on the empty input. The helper refuses what it cannot
// hash rather than hashing something else.

import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { equalBytes, hmacSha256, nativeDigestAvailable, sha256, sha256Hex, useNativeDigest } from '../../src/sandbox/digest.js';

const helperPath = fileURLToPath(new URL('../../native/digest.node', import.meta.url));

/** Runs `body` with the helper on, then off, restoring it after. */
function bothWays(body: (way: string) => void): void {
  for (const on of [true, false]) {
    useNativeDigest(on);
    try {
      body(on ? 'native' : 'node:crypto');
    } finally {
      useNativeDigest(true);
    }
  }
}

describe('digests for the prepared-module cache', () => {
  it('the build made the native helper, and it is used', () => {
    // Without a C compiler the build skips it (tools/build-native.js); this machine has one.
    assert.ok(existsSync(helperPath), `${helperPath} was not built`);
    assert.equal(nativeDigestAvailable(), true);
  });

  it('SHA-256 and HMAC-SHA-256 on published vectors (FIPS 180-2, RFC 4231)', () => {
    bothWays((way) => {
      assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', way);
      assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', way);
      assert.equal(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1', way);
      // RFC 4231 test case 2 and test case 6 (a key longer than the block).
      assert.equal(hmacSha256(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')).toString('hex'),
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843', way);
      assert.equal(hmacSha256(Buffer.alloc(131, 0xaa), Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First')).toString('hex'),
        '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54', way);
    });
  });

  it('answers as node:crypto does on every length around the block boundaries, on views, and on UTF-8 text', () => {
    const big = randomBytes(4096 + 64);
    bothWays((way) => {
      for (let n = 0; n <= 200; n++) {
        const data = big.subarray(7, 7 + n);
        assert.deepEqual(sha256(data), createHash('sha256').update(data).digest(), `${way}: ${n} bytes`);
        const key = big.subarray(300, 300 + (n % 140));
        assert.deepEqual(hmacSha256(key, data), createHmac('sha256', key).update(data).digest(), `${way}: HMAC of ${n} bytes`);
      }
      const whole = new Uint8Array(big);
      assert.deepEqual(sha256(whole), createHash('sha256').update(whole).digest(), way);
      const text = 'sha256:é\u{1F600}\n{"a":1}';
      assert.equal(sha256Hex(text), createHash('sha256').update(text).digest('hex'), way);
    });
  });

  it('compares bytes by content and length only', () => {
    bothWays((way) => {
      const a = randomBytes(32);
      const b = Buffer.from(a);
      assert.equal(equalBytes(a, b), true, way);
      b[31] ^= 1;
      assert.equal(equalBytes(a, b), false, way);
      assert.equal(equalBytes(a, a.subarray(0, 31)), false, way);
      assert.equal(equalBytes(new Uint8Array(0), new Uint8Array(0)), true, way);
    });
  });

  it('the helper refuses an output of the wrong size or an argument that is no Uint8Array, writing nothing', () => {
    const native = { exports: {} as { sha256: (d: unknown, o: unknown) => boolean; hmacSha256: (k: unknown, d: unknown, o: unknown) => boolean; equal: (a: unknown, b: unknown) => boolean } };
    process.dlopen(native, helperPath);
    const { sha256: raw, hmacSha256: rawHmac, equal } = native.exports;
    // What the size check stops: 32 bytes written into a smaller buffer (or past a view's end).
    const short = new Uint8Array(40);
    assert.equal(raw(Buffer.from('abc'), short.subarray(0, 31)), false);
    assert.equal(raw(Buffer.from('abc'), short.subarray(10, 40)), false);
    assert.deepEqual(short, new Uint8Array(40));
    assert.equal(raw('abc', new Uint8Array(32)), false);
    assert.equal(raw(new Uint16Array(4), new Uint8Array(32)), false);
    assert.equal((raw as (d: unknown) => boolean)(Buffer.from('abc')), false);
    assert.equal(rawHmac(Buffer.from('k'), Buffer.from('abc'), new Uint8Array(16)), false);
    assert.equal(rawHmac('k', Buffer.from('abc'), new Uint8Array(32)), false);
    assert.equal(equal(Buffer.from('ab'), 'ab'), false);
  });
});
