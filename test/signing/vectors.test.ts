// Golden vectors (test/fixtures/signing/, written by tools/make-signing-vectors.js)
// recomputed byte for byte; and checks against published material that does not
// come from this code: RFC 8032's Ed25519 test vector, and a signature payload
// assembled by hand from the layout in tool-conventions Signatures.md (Appendix A).

import assert from 'node:assert/strict';
import { createHash, createHmac, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readSections } from '../../src/binary/sections.js';
import { parseSignatureData } from '../../src/signing/format.js';
import { parsePublicKey, parseSecretKey, secretKeyFromSeed } from '../../src/signing/keys.js';
import { verifyModule } from '../../src/signing/verify.js';
import { fixture } from '../helpers/paths.js';
import { buildVectors, seedA } from './vectors.js';

const vector = (name: string) => new Uint8Array(readFileSync(fixture('signing', name)));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('signing golden vectors', () => {
  const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));
  const built = buildVectors(hello);

  for (const name of Object.keys(built)) {
    it(`reproduces ${name} byte for byte`, () => assert.equal(hex(built[name]!), hex(vector(name))));
  }

  it('the committed vectors verify, in the formats wasmsign2 uses', () => {
    const a = parsePublicKey(vector('a.key.pub'));
    const b = parsePublicKey(vector('b.key.pub'));
    assert.equal(vector('a.key')[0], 0x81);
    assert.equal(vector('a.key').length, 65);
    assert.equal(vector('a.key.pub')[0], 0x01);
    assert.equal(vector('a.key.pub').length, 33);
    assert.deepEqual(parseSecretKey(vector('a.key')).publicKey.raw, a.raw);
    assert.equal(verifyModule(vector('hello.signed.wasm'), [a]).ok, true);
    assert.equal(verifyModule(vector('hello.signed.wasm'), [b]).code, 'untrusted');
    assert.equal(verifyModule(hello, [a], { detached: vector('hello.wasm.sig') }).ok, true);
    const two = verifyModule(vector('hello.two-signers.wasm'), [a, b], { requirement: { threshold: 2 } });
    assert.equal(two.ok, true, two.reason);
    assert.deepEqual(two.keyIds, [hex(a.keyId), hex(b.keyId)]);
    assert.deepEqual(two.verifiedBy, [0, 1]);
    assert.deepEqual(two.signatures.map((s) => s.verifiedBy), [0, 1]);
    const parts = verifyModule(vector('hello.parts.signed.wasm'), [a]);
    assert.equal(parts.ok, true, parts.reason);
    assert.equal(parts.parts, 2);
    const partsTwo = verifyModule(vector('hello.parts.two-signers.wasm'), [b, a], { threshold: 2 });
    assert.equal(partsTwo.ok, true, partsTwo.reason);
    assert.deepEqual(partsTwo.keyIds, [hex(a.keyId), '(none)']);
    assert.equal(verifyModule(vector('hello.parts.wasm'), [a], { detached: vector('hello.parts.wasm.sig') }).ok, true);
  });

  it('the signature section is first, and the signed module still compiles', () => {
    for (const name of ['hello.signed.wasm', 'hello.two-signers.wasm', 'hello.parts.signed.wasm']) {
      const signed = vector(name);
      const first = readSections(signed)[0]!;
      assert.equal(first.name, 'signature');
      assert.equal(WebAssembly.validate(signed), true);
    }
  });

  it('the key id is wasmsign2\'s: HMAC-SHA256(key = public key, "key_id"), 12 bytes', () => {
    const a = parsePublicKey(vector('a.key.pub'));
    assert.equal(hex(a.keyId), createHmac('sha256', a.raw).update('key_id').digest('hex').slice(0, 24));
    const payload = parseSignatureData(vector('hello.wasm.sig'));
    assert.equal(hex(payload[0]!.signatures[0]!.keyId!), hex(a.keyId));
  });
});

describe('published vectors', () => {
  it('RFC 8032 test 1: the seed gives the published public key and signature', () => {
    const key = secretKeyFromSeed(fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
    assert.equal(hex(key.publicKey.raw), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    assert.equal(hex(sign(null, new Uint8Array(0), key.object)),
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');
  });

  it('a payload assembled by hand from Signatures.md\'s example (three parts, signers "first" and "second") verifies', () => {
    // The module: header, type section, delimiter, a custom section, delimiter, a custom section, delimiter.
    const delimiter = (fill: number) => [0x00, 36, 19, ...Buffer.from('signature_delimiter'), ...new Array(16).fill(fill)];
    const body = Uint8Array.from([
      0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: one type () -> ()
      ...delimiter(1),
      0x00, 0x05, 0x04, ...Buffer.from('note'), // custom section "note", empty payload
      ...delimiter(2),
      0x00, 0x05, 0x04, ...Buffer.from('meta'), // custom section "meta", empty payload
      ...delimiter(3),
    ]);
    const header = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    // Rolling hashes: h_i = SHA-256(everything after the signature section up to and including delimiter i).
    const ends = [6 + 38, 6 + 38 + 7 + 38, body.length];
    const hashes = ends.map((end) => createHash('sha256').update(body.subarray(0, end)).digest());
    const message = Buffer.concat([Buffer.from('wasmsig'), Buffer.from([1, 1, 1]), ...hashes]);
    const first = secretKeyFromSeed(seedA);
    const second = secretKeyFromSeed(new Uint8Array(32).fill(7));
    const record = (id: string, signature: Buffer) => {
      const r = [id.length, ...Buffer.from(id), 0x01, 64, ...signature];
      return [r.length, ...r];
    };
    const set = [3, ...Buffer.concat(hashes), 2, ...record('first', sign(null, message, first.object)), ...record('second', sign(null, message, second.object))];
    const payload = Uint8Array.from([0x01, 0x01, 0x01, 1, ...lebBytes(set.length), ...set]);
    const section = [0x00, ...lebBytes(10 + payload.length), 9, ...Buffer.from('signature'), ...payload];
    const module = Uint8Array.from([...header, ...section, ...body]);
    assert.equal(WebAssembly.validate(module), true);

    const k1 = parsePublicKey(Uint8Array.from([1, ...first.publicKey.raw]), { keyId: Buffer.from('first') });
    const k2 = parsePublicKey(Uint8Array.from([1, ...second.publicKey.raw]), { keyId: Buffer.from('second') });
    const both = verifyModule(module, [k1, k2], { requirement: { threshold: 2 } });
    assert.equal(both.ok, true, both.reason);
    assert.equal(both.parts, 3);
    assert.deepEqual(both.keyIds, [hex(Buffer.from('first')), hex(Buffer.from('second'))]);
    // Without the signer's chosen key id, the key's derived id does not match the one stored: refused.
    assert.equal(verifyModule(module, [parsePublicKey(Uint8Array.from([1, ...first.publicKey.raw]))]).code, 'untrusted');
    // The same payload, detached, verifies the module without its signature section.
    assert.equal(verifyModule(Uint8Array.from([...header, ...body]), [k1], { detached: payload }).ok, true);
  });
});

function lebBytes(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
