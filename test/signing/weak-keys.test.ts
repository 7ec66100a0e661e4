// Ed25519 public keys that are points of small order (the all-zero key a
// placeholder file holds, the identity, and the other six) verify signatures
// nobody made: node:crypto, like RFC 8032, accepts R = identity, S = 0 under
// such a key for one message in at most eight. Each is shown forgeable with
// node:crypto itself, then refused wherever a key is read: parsed from any
// format, named by `warden verify --key`, listed in a policy's trust.keys. A
// module forged for the all-zero key must not verify.

import assert from 'node:assert/strict';
import { createPublicKey, verify as ed25519Verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { readSections } from '../../src/binary/sections.js';
import { encodeCustomSection, encodeSignatureData, signedMessage } from '../../src/signing/format.js';
import { partHashes } from '../../src/signing/hashing.js';
import { generateKeyPair, KeyError, parsePublicKey, publicKeyFromRaw, type PublicKey } from '../../src/signing/keys.js';
import { verifyModule } from '../../src/signing/verify.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const P = (1n << 255n) - 19n;
const encode = (y: bigint, negativeX = false): Uint8Array => {
  const out = new Uint8Array(32);
  for (let i = 0, v = y; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  if (negativeX) out[31]! |= 0x80;
  return out;
};
// y of an order-8 point; the other order-8 points have -y, and x of either sign.
const Y8 = 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n;
const WEAK: Array<[string, Uint8Array]> = [
  ['all zero (order 4)', encode(0n)],
  ['the identity (order 1)', encode(1n)],
  ['order 2', encode(P - 1n)],
  ['order 4, x negative', encode(0n, true)],
  ['order 8', encode(Y8)],
  ['order 8, -y', encode(P - Y8)],
  ['order 8, x negative', encode(Y8, true)],
  ['order 8, -y, x negative', encode(P - Y8, true)],
  ['y = p (0, not reduced)', encode(P)],
  ['y = p + 1 (1, not reduced)', encode(P + 1n)],
];
const IDENTITY = encode(1n);
const forgedSignature = Buffer.concat([IDENTITY, new Uint8Array(32)]);

/** node:crypto's own verdict on the forged signature over `message` under the raw key `raw`, or null if it refuses the key. */
function nodeAccepts(raw: Uint8Array, message: Uint8Array): boolean | null {
  let object;
  try {
    object = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
  } catch {
    return null;
  }
  return ed25519Verify(null, message, object, forgedSignature);
}

/** hello.wasm with a `nonce` section varied until the forged signature verifies under `raw`, signed with it. */
function forgeModule(raw: Uint8Array): Uint8Array {
  const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));
  for (let nonce = 0; nonce < 1024; nonce++) {
    const unsigned = Buffer.concat([hello, encodeCustomSection('nonce', new TextEncoder().encode(String(nonce)))]);
    const hashes = partHashes(unsigned, readSections(unsigned), null);
    if (!nodeAccepts(raw, signedMessage(hashes))) continue;
    const payload = encodeSignatureData([{ hashes, signatures: [{ keyId: null, algorithm: 1, signature: forgedSignature }] }]);
    return Buffer.concat([unsigned.subarray(0, 8), encodeCustomSection('signature', payload), unsigned.subarray(8)]);
  }
  throw new Error('no forgery found');
}

describe('weak (small-order) Ed25519 public keys', () => {
  it('each is forgeable by node:crypto itself, and refused as a key in every format', () => {
    for (const [what, raw] of WEAK) {
      const accepted = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].some((n) => nodeAccepts(raw, Uint8Array.of(n)) === true);
      const refusedByNode = nodeAccepts(raw, Uint8Array.of(0)) === null;
      assert.ok(accepted || refusedByNode, `${what}: a key node:crypto takes is forgeable`);
      assert.throws(() => publicKeyFromRaw(raw), (e: Error) => e instanceof KeyError && /small order/.test(e.message), what);
      assert.throws(() => parsePublicKey(Uint8Array.from([0x01, ...raw])), KeyError, what);
      const ssh = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), raw]);
      assert.throws(() => parsePublicKey(new TextEncoder().encode(`ssh-ed25519 ${ssh.toString('base64')} placeholder\n`)), KeyError, what);
    }
    // Real keys are taken.
    for (let i = 0; i < 16; i++) assert.doesNotThrow(() => publicKeyFromRaw(generateKeyPair().publicKey.raw));
  });

  it('a module forged for the all-zero key does not verify, and the key is refused by warden verify and in a policy', async (t) => {
    const dir = tempDir(t);
    const zero = encode(0n);
    const forged = forgeModule(zero);
    // The forgery is real: with the key object node:crypto makes, the signature checks out.
    const object = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(zero).toString('base64url') }, format: 'jwk' });
    const sneaked: PublicKey = { raw: zero, keyId: new Uint8Array(12), object };
    assert.equal(verifyModule(forged, [sneaked]).ok, true);

    const keyFile = join(dir, 'zero.pub');
    writeFileSync(keyFile, Uint8Array.from([0x01, ...zero]));
    const module = join(dir, 'forged.wasm');
    writeFileSync(module, forged);
    const r = await runWarden(['verify', '--key', keyFile, module]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^warden verify: .*zero\.pub: .*small order.*\n$/);

    assert.throws(() => parsePolicy({ trust: { keys: [`base64:${Buffer.from([0x01, ...zero]).toString('base64')}`] } }), /trust\.keys\[0\]: .*small order/);
  });
});
