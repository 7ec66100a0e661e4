import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readSections } from '../../src/binary/sections.js';
import { parsePublicKey, parseSecretKey } from '../../src/signing/keys.js';
import { verifyModule } from '../../src/signing/verify.js';
import { fixture } from '../helpers/paths.js';
import { buildVectors } from './vectors.js';

const vector = (name: string) => new Uint8Array(readFileSync(fixture('signing', name)));

describe('signing golden vectors', () => {
  const hello = vector('../c/hello.wasm');
  const built = buildVectors(hello);

  for (const name of Object.keys(built)) {
    it(`reproduces ${name} byte for byte`, () => {
      assert.deepEqual(Buffer.from(built[name]!).toString('hex'), Buffer.from(vector(name)).toString('hex'));
    });
  }

  it('the committed vectors verify, with the formats wasmsign2 uses', () => {
    const a = parsePublicKey(vector('a.key.pub'));
    const b = parsePublicKey(vector('b.key.pub'));
    assert.equal(vector('a.key')[0], 0x81);
    assert.equal(vector('a.key').length, 65);
    assert.equal(vector('a.key.pub')[0], 0x01);
    assert.deepEqual(parseSecretKey(vector('a.key')).publicKey.raw, a.raw);
    assert.equal(verifyModule(vector('hello.signed.wasm'), [a]).ok, true);
    assert.equal(verifyModule(vector('hello.signed.wasm'), [b]).ok, false);
    assert.equal(verifyModule(hello, [a], { detached: vector('hello.wasm.sig') }).ok, true);
    const two = verifyModule(vector('hello.two-signers.wasm'), [a, b], { threshold: 2 });
    assert.deepEqual(two, { ok: true, keyIds: [Buffer.from(a.keyId).toString('hex'), Buffer.from(b.keyId).toString('hex')], verifiedBy: [0, 1] });
    assert.equal(verifyModule(vector('hello.parts.signed.wasm'), [a]).ok, true);
  });

  it('the signature section is first, and the signed module still runs', () => {
    const signed = vector('hello.signed.wasm');
    const first = readSections(signed)[0]!;
    assert.equal(first.id, 0);
    assert.equal(first.name, 'signature');
    assert.equal(WebAssembly.validate(signed), true);
  });
});
