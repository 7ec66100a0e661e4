// A key file holds one key and nothing else. PEM, DER and OpenSSH parsers
// read the first key and ignore what follows: a file of two keys was trusted
// as its first one alone (a second signer silently not trusted, and a
// threshold counting the file once), and a key with bytes appended was taken
// as though they were not there, so two tools could read two different keys
// from the same file. Each such file is refused with one line naming it.

import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { KeyError, parsePublicKey, parseSecretKey } from '../../src/signing/keys.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const a = generateKeyPairSync('ed25519');
const b = generateKeyPairSync('ed25519');
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
const der = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
const ssh = (k: KeyObject): string => {
  const raw = Buffer.from((k.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  const str = (x: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, x.length]), x]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')}`;
};
const bytes = (x: string | Buffer) => new Uint8Array(typeof x === 'string' ? Buffer.from(x) : x);

const ACCEPTED: Array<[string, Uint8Array]> = [
  ['PEM', bytes(pem(a.publicKey))],
  ['PEM with CRLF line ends and blank lines around it', bytes(`\r\n${pem(a.publicKey).replace(/\n/g, '\r\n')}\r\n\r\n`)],
  ['DER', bytes(der(a.publicKey))],
  ['OpenSSH with a comment', bytes(`${ssh(a.publicKey)} alice@example\n`)],
  ['OpenSSH with no newline', bytes(ssh(a.publicKey))],
];

const REFUSED: Array<[string, Uint8Array, RegExp]> = [
  ['two PEM keys', bytes(pem(a.publicKey) + pem(b.publicKey)), /2 PEM blocks/],
  ['PEM then junk', bytes(`${pem(a.publicKey)}garbage\n`), /nothing else/],
  ['junk then PEM', bytes(`garbage\n${pem(a.publicKey)}`), /nothing else/],
  ['PEM then a secret key\'s BEGIN line', bytes(`${pem(a.publicKey)}-----BEGIN PRIVATE KEY-----\n`), /2 PEM blocks/],
  ['DER then trailing bytes', bytes(Buffer.concat([der(a.publicKey), Buffer.from([1, 2, 3])])), /3 bytes after/],
  ['DER then a second DER key', bytes(Buffer.concat([der(a.publicKey), der(b.publicKey)])), /44 bytes after/],
  ['two OpenSSH keys', bytes(`${ssh(a.publicKey)} alice\n${ssh(b.publicKey)} bob\n`), /2 lines/],
  ['OpenSSH then junk', bytes(`${ssh(a.publicKey)} alice\ngarbage\n`), /2 lines/],
];

describe('key files hold one key and nothing else', () => {
  for (const [what, file] of ACCEPTED) {
    it(`accepts ${what}`, () => {
      assert.equal(Buffer.from(parsePublicKey(file).raw).toString('base64url'), (a.publicKey.export({ format: 'jwk' }) as { x: string }).x);
    });
  }
  for (const [what, file, reason] of REFUSED) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parsePublicKey(file), (e: Error) => e instanceof KeyError && reason.test(e.message), what);
    });
  }

  it('refuses a secret key file with a second key after it', () => {
    const secret = a.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    assert.ok(parseSecretKey(bytes(secret)));
    assert.throws(() => parseSecretKey(bytes(secret + (b.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string))), /2 PEM blocks/);
    const secretDer = a.privateKey.export({ type: 'pkcs8', format: 'der' });
    assert.throws(() => parseSecretKey(bytes(Buffer.concat([secretDer, Buffer.from([0])]))), /1 bytes after/);
  });

  it('warden verify and a policy refuse such a file with one line naming it', async (t) => {
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'k.pem'), a.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    assert.equal((await runWarden(['sign', '--key', 'k.pem', fixture('c', 'hello.wasm'), '-o', 's.wasm'], { cwd })).code, 0);
    writeFileSync(join(cwd, 'two.pub'), pem(a.publicKey) + pem(b.publicKey));
    const r = await runWarden(['verify', '--key', 'two.pub', 's.wasm'], { cwd });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /two\.pub: .*2 PEM blocks/);
    assert.throws(() => parsePolicy({ trust: { keys: [join(cwd, 'two.pub')] } }), /2 PEM blocks/);
    writeFileSync(join(cwd, 'trust.toml'), '[trust]\nkeys = ["two.pub"]\n');
    const run = await runWarden(['run', '--policy', 'trust.toml', 's.wasm'], { cwd });
    assert.equal(run.code, 125, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  });
});
