// warden keygen (and warden init) without --force never replace a file that is
// there when they write, whether it was there at their first check or appeared after it.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writePair } from '../../src/cli/commands/keygen.js';
import { generateSecretKey, encodePublicKey, encodeSecretKey, parsePublicKey, parseSecretKey } from '../../src/signing/keys.js';
import { createAtomicFile } from '../../src/store/atomic-file.js';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('creating a file that must not replace another', () => {
  it('commitNew refuses (EEXIST) a target that appeared after the file was started, and leaves it and no temporary', (t) => {
    const dir = tempDir(t);
    const file = createAtomicFile(dir, undefined, 0o600);
    file.write(Buffer.from('new'));
    writeFileSync(join(dir, 'target'), 'theirs');
    assert.throws(() => file.commitNew(join(dir, 'target')), { code: 'EEXIST' });
    assert.equal(readFileSync(join(dir, 'target'), 'utf8'), 'theirs');
    assert.deepEqual(readdirSync(dir), ['target']);
  });

  it('a key pair written without --force leaves a public key that appeared after the check, and writes no secret half', (t) => {
    const dir = tempDir(t);
    const key = generateSecretKey();
    // KEY.pub appears between keygen's check and its write: the write itself must refuse.
    writeFileSync(join(dir, 'k.pub'), 'theirs');
    assert.throws(() => writePair(join(dir, 'k'), 'k', encodeSecretKey(key), encodePublicKey(key.publicKey), false), /k or k\.pub exists; pass --force/);
    assert.equal(readFileSync(join(dir, 'k.pub'), 'utf8'), 'theirs');
    assert.deepEqual(readdirSync(dir), ['k.pub']);
  });

  it('likewise a secret key that appeared after the check: neither half is written', (t) => {
    const dir = tempDir(t);
    const key = generateSecretKey();
    writeFileSync(join(dir, 'k'), 'theirs');
    assert.throws(() => writePair(join(dir, 'k'), 'k', encodeSecretKey(key), encodePublicKey(key.publicKey), false), /exists/);
    assert.equal(readFileSync(join(dir, 'k'), 'utf8'), 'theirs');
    assert.deepEqual(readdirSync(dir), ['k']);
  });

  it('many keygens racing into one name: exactly one wins, the pair on disk is its, the rest exit 2 with one line', async (t) => {
    const cwd = tempDir(t);
    const runs = await Promise.all(Array.from({ length: 8 }, () => runWarden(['keygen', '--json', '--out', 'k'], { cwd })));
    const won = runs.filter((r) => r.code === 0);
    assert.equal(won.length, 1, runs.map((r) => `${r.code} ${r.stderr}`).join('\n'));
    for (const r of runs.filter((r) => r.code !== 0)) {
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /k or k\.pub exists; pass --force to overwrite/);
    }
    const keyId = JSON.parse(won[0]!.stdout).keyId;
    const secret = parseSecretKey(readFileSync(join(cwd, 'k')));
    const pub = parsePublicKey(readFileSync(join(cwd, 'k.pub')));
    assert.equal(Buffer.from(pub.keyId).toString('hex'), keyId);
    assert.deepEqual(Buffer.from(secret.publicKey.raw), Buffer.from(pub.raw));
    assert.deepEqual(readdirSync(cwd).sort(), ['k', 'k.pub']);
  });

  it('many inits racing into one name: exactly one wins, the rest exit 2', async (t) => {
    const cwd = tempDir(t);
    mkdirSync(join(cwd, 'sub'));
    const runs = await Promise.all(Array.from({ length: 8 }, () => runWarden(['init', '--out', 'sub/p.toml'], { cwd })));
    assert.equal(runs.filter((r) => r.code === 0).length, 1, runs.map((r) => `${r.code} ${r.stderr}`).join('\n'));
    for (const r of runs.filter((r) => r.code !== 0)) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /sub\/p\.toml exists; pass --force to overwrite/);
    }
    assert.deepEqual(readdirSync(join(cwd, 'sub')), ['p.toml']);
  });
});
