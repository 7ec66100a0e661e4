// Attack: one signer standing in for several. A threshold of N counts distinct
// public keys, however often and in whatever form a key is listed: the same key
// given twice (two files, a file and base64, raw and PEM) is one signer.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadPolicy } from '../../src/policy/read-file.js';
import { AdmissionError, prepare } from '../../src/sandbox/prepare.js';
import { encodePublicKey, generateSecretKey, parsePublicKey } from '../../src/signing/keys.js';
import { signModule } from '../../src/signing/sign.js';
import { verifyModule } from '../../src/signing/verify.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));
const alice = generateSecretKey();
const bob = generateSecretKey();
const aliceRaw = encodePublicKey(alice.publicKey);
const signedByAlice = signModule(hello, alice).module;

describe('signer thresholds count distinct keys', () => {
  it('verifyModule: alice listed twice does not make two signers', () => {
    const twice = [parsePublicKey(aliceRaw), parsePublicKey(aliceRaw)];
    const result = verifyModule(signedByAlice, twice, { threshold: 2 });
    assert.equal(result.ok, false);
    assert.equal(result.code, 'threshold');
    assert.deepEqual(result.verifiedBy, [0]);
    const both = signModule(signedByAlice, bob).module;
    assert.equal(verifyModule(both, [...twice, bob.publicKey], { threshold: 2 }).ok, true);
  });

  it('warden verify: the same key under two paths is refused as a threshold of 2', async (t) => {
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'alice.pub'), aliceRaw);
    writeFileSync(join(cwd, 'alice-copy.pub'), parsePublicKey(aliceRaw).object.export({ format: 'pem', type: 'spki' }));
    writeFileSync(join(cwd, 's.wasm'), signedByAlice);
    for (const second of ['alice.pub', 'alice-copy.pub']) {
      const r = await runWarden(['verify', '--key', 'alice.pub', '--key', second, '--threshold', '2', 's.wasm'], { cwd });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /distinct keys, 1 \(2 --key given, 1 of them repeating a key\)/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
    assert.equal((await runWarden(['verify', '--key', 'alice.pub', '--key', 'alice-copy.pub', 's.wasm'], { cwd })).code, 0);
  });

  it('a trust policy listing alice as a file and as base64 needs two distinct signers', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'alice.pub'), aliceRaw);
    const base64 = `base64:${Buffer.from(aliceRaw).toString('base64')}`;
    writeFileSync(join(dir, 'two.toml'), `[trust]\nkeys = ["alice.pub", "${base64}"]\nrequire = 2\n`);
    assert.throws(() => loadPolicy(join(dir, 'two.toml')), /trust\.require: needs 2 signers but trust\.keys lists 1 distinct key/);
    writeFileSync(join(dir, 'one.toml'), `[trust]\nkeys = ["alice.pub", "${base64}"]\n`);
    const policy = loadPolicy(join(dir, 'one.toml'));
    assert.equal(policy.trust.keys.length, 1);
    prepare(signedByAlice, policy);
    // With a second, real key required, alice alone is refused at admission.
    writeFileSync(join(dir, 'bob.pub'), encodePublicKey(bob.publicKey));
    writeFileSync(join(dir, 'three.toml'), `[trust]\nkeys = ["alice.pub", "${base64}", "bob.pub"]\nrequire = 2\n`);
    const strict = loadPolicy(join(dir, 'three.toml'));
    assert.throws(() => prepare(signedByAlice, strict), (e: unknown) => e instanceof AdmissionError && e.violations[0]!.rule === 'signature-untrusted');
  });
});
