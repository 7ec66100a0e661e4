import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

describe('warden keygen, sign, verify', () => {
  it('round trip: 0 when verified, 1 when not, 2 for bad usage or input', async (t) => {
    const dir = tempDir(t);
    const cwd = dir;
    const key = await runWarden(['keygen', '--out', 'k'], { cwd });
    assert.equal(key.code, 0, key.stderr);
    assert.equal(statSync(join(dir, 'k')).mode & 0o777, 0o600);
    assert.equal((await runWarden(['keygen', '--out', 'k'], { cwd })).code, 2);
    await runWarden(['keygen', '--out', 'other'], { cwd });
    const sign = await runWarden(['sign', '--key', 'k', fixture('c', 'hello.wasm'), '-o', 'signed.wasm'], { cwd });
    assert.equal(sign.code, 0, sign.stderr);
    assert.equal((await runWarden(['verify', '--key', 'k.pub', 'signed.wasm'], { cwd })).code, 0);
    const untrusted = await runWarden(['verify', '--key', 'other.pub', 'signed.wasm'], { cwd });
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /no trusted key/);
    const unsigned = await runWarden(['verify', '--key', 'k.pub', fixture('c', 'hello.wasm')], { cwd });
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /not signed/);
    assert.equal((await runWarden(['verify', '--key', 'k.pub', '--key', 'other.pub', '--threshold', '2', 'signed.wasm'], { cwd })).code, 1);
    await runWarden(['sign', '--key', 'other', 'signed.wasm', '-o', 'both.wasm'], { cwd });
    const both = await runWarden(['verify', '--key', 'k.pub', '--key', 'other.pub', '--threshold', '2', '--json', 'both.wasm'], { cwd });
    assert.equal(both.code, 0, both.stderr);
    assert.deepEqual(JSON.parse(both.stdout).verifiedBy, ['k.pub', 'other.pub']);
    const bytes = readFileSync(join(dir, 'signed.wasm'));
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(join(dir, 'tampered.wasm'), bytes);
    assert.equal((await runWarden(['verify', '--key', 'k.pub', 'tampered.wasm'], { cwd })).code, 1);
    assert.equal((await runWarden(['verify', 'signed.wasm'], { cwd })).code, 2);
    assert.equal((await runWarden(['verify', '--key', 'missing.pub', 'signed.wasm'], { cwd })).code, 2);
    assert.equal((await runWarden(['sign', '--key', 'k.pub', fixture('c', 'hello.wasm'), '-o', 'x.wasm'], { cwd })).code, 2);
  });

  it('an output that cannot be written is one line naming it, exit 2, and leaves nothing behind', async (t) => {
    const cwd = tempDir(t);
    assert.equal((await runWarden(['keygen', '--out', 'k'], { cwd })).code, 0);
    mkdirSync(join(cwd, 'a-directory'));
    const before = readdirSync(cwd).sort();
    for (const args of [['-o', 'missing/out.wasm'], ['-o', 'a-directory'], ['--detached', 'missing/out.sig'], ['--detached', 'a-directory']]) {
      const r = await runWarden(['sign', '--key', 'k', fixture('c', 'hello.wasm'), ...args], { cwd });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^warden sign: cannot write ${args[1]} \\((ENOENT|EISDIR)\\)\n$`), r.stderr);
      assert.deepEqual(readdirSync(cwd).sort(), before);
      assert.deepEqual(readdirSync(join(cwd, 'a-directory')), []);
    }
  });

  it('detached signatures', async (t) => {
    const cwd = tempDir(t);
    await runWarden(['keygen', '--out', 'k'], { cwd });
    assert.equal((await runWarden(['sign', '--key', 'k', fixture('c', 'hello.wasm'), '--detached', 'hello.sig'], { cwd })).code, 0);
    assert.equal((await runWarden(['verify', '--key', 'k.pub', '--detached', 'hello.sig', fixture('c', 'hello.wasm')], { cwd })).code, 0);
    assert.equal((await runWarden(['verify', '--key', 'k.pub', '--detached', 'hello.sig', fixture('c', 'layout_data_first.wasm')], { cwd })).code, 1);
  });

  it('accepts PEM Ed25519 keys and names wrong key types', async (t) => {
    const cwd = tempDir(t);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(cwd, 'k.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
    writeFileSync(join(cwd, 'k.pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }));
    assert.equal((await runWarden(['sign', '--key', 'k.pem', fixture('c', 'hello.wasm'), '-o', 's.wasm'], { cwd })).code, 0);
    assert.equal((await runWarden(['verify', '--key', 'k.pub.pem', 's.wasm'], { cwd })).code, 0);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    writeFileSync(join(cwd, 'rsa.pub.pem'), rsa.publicKey.export({ format: 'pem', type: 'spki' }));
    const wrong = await runWarden(['verify', '--key', 'rsa.pub.pem', 's.wasm'], { cwd });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /expected an Ed25519 key, got rsa/);
    writeFileSync(join(cwd, 'garbage.pub'), 'not a key at all');
    assert.match((await runWarden(['verify', '--key', 'garbage.pub', 's.wasm'], { cwd })).stderr, /unknown key type/);
  });
});

describe('signatures in inspect and run --policy', () => {
  it('inspect shows key ids and which keys verify; a policy requiring a signature refuses unsigned modules', async (t) => {
    const cwd = tempDir(t);
    await runWarden(['keygen', '--out', 'k'], { cwd });
    await runWarden(['sign', '--key', 'k', fixture('c', 'hello.wasm'), '-o', 'signed.wasm'], { cwd });
    const report = JSON.parse((await runWarden(['inspect', '--json', '--key', 'k.pub', 'signed.wasm'], { cwd })).stdout);
    assert.equal(report.signatures.signed, true);
    assert.equal(report.signatures.keyIds.length, 1);
    assert.deepEqual(report.signatures.verifiedBy, report.signatures.keyIds);
    const text = (await runWarden(['inspect', 'signed.wasm'], { cwd })).stdout;
    assert.match(text, /Signatures/);
    writeFileSync(join(cwd, 'trust.toml'), '[trust]\nkeys = ["k.pub"]\n');
    const ok = await runWarden(['run', '--policy', 'trust.toml', 'signed.wasm'], { cwd });
    assert.equal(ok.code, 0, ok.stderr);
    const refused = await runWarden(['run', '--policy', 'trust.toml', fixture('c', 'hello.wasm')], { cwd });
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /unsigned/);
  });
});

describe('keygen writes both halves or neither', () => {
  it('a public half that cannot be written leaves the old pair as it was', async (t) => {
    const cwd = tempDir(t);
    assert.equal((await runWarden(['keygen', '--out', 'k'], { cwd })).code, 0);
    const secret = readFileSync(join(cwd, 'k'));
    // k.pub becomes a directory: the new public half cannot go there.
    rmSync(join(cwd, 'k.pub'));
    mkdirSync(join(cwd, 'k.pub'));
    const r = await runWarden(['keygen', '--out', 'k', '--force'], { cwd });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /k\.pub/);
    // The secret key is the old one: a new secret without its public half is a pair that does not match.
    assert.deepEqual(readFileSync(join(cwd, 'k')), secret);
    assert.deepEqual(readdirSync(cwd).sort(), ['k', 'k.pub']);
  });

  it('a secret half that cannot be written leaves no public half', async (t) => {
    const cwd = tempDir(t);
    mkdirSync(join(cwd, 'k'));
    const r = await runWarden(['keygen', '--out', 'k', '--force'], { cwd });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.deepEqual(readdirSync(cwd), ['k']);
  });
});
