// `-` as an output is stdout (docs/ARCHITECTURE.md), never a file named '-':
// harden, sign and pull write the module (or the signature) there, bytes
// exactly as they would go to a file, and nothing else on stdout; where stdout
// makes no sense (keygen's two files, run's report beside the guest's own
// output, --json sharing the bytes) the command refuses in one line.

import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runWarden, type CliResult } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { registryAvailable, startRegistry, type Registry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tmp.js';

function oneLine(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.split('\n').length, 2, r.stderr);
}

describe("'-' as an output is stdout", () => {
  it('harden -o - writes the hardened module to stdout, its summary to stderr', async (t) => {
    const cwd = tempDir(t);
    copyFileSync(fixture('c', 'hello.wasm'), join(cwd, 'hello.wasm'));
    const file = await runWarden(['harden', '--all', 'hello.wasm', '-o', 'h.wasm'], { cwd });
    assert.equal(file.code, 0, file.stderr);
    for (const flag of ['-o', '--out']) {
      const piped = await runWarden(['harden', '--all', 'hello.wasm', flag, '-'], { cwd });
      assert.equal(piped.code, 0, piped.stderr);
      assert.deepEqual(piped.stdoutBytes, readFileSync(join(cwd, 'h.wasm')));
      assert.match(piped.stderr, /^wrote the module to stdout/);
      assert.equal(existsSync(join(cwd, '-')), false);
    }
    oneLine(await runWarden(['harden', '--all', '--json', 'hello.wasm', '-o', '-'], { cwd }), 2, /^warden harden: -o - writes the module itself to stdout; --json cannot share it\n/);
    assert.equal(existsSync(join(cwd, '-')), false);
  });

  it('sign -o - and sign --detached - write the signed module or the signature to stdout', async (t) => {
    const cwd = tempDir(t);
    copyFileSync(fixture('c', 'hello.wasm'), join(cwd, 'hello.wasm'));
    assert.equal((await runWarden(['keygen', '--out', 'k'], { cwd })).code, 0);
    assert.equal((await runWarden(['sign', '--key', 'k', 'hello.wasm', '-o', 's.wasm'], { cwd })).code, 0);
    assert.equal((await runWarden(['sign', '--key', 'k', 'hello.wasm', '--detached', 's.sig'], { cwd })).code, 0);
    const signed = await runWarden(['sign', '--key', 'k', 'hello.wasm', '-o', '-'], { cwd });
    assert.equal(signed.code, 0, signed.stderr);
    assert.deepEqual(signed.stdoutBytes, readFileSync(join(cwd, 's.wasm')));
    assert.match(signed.stderr, /^signed by key id [0-9a-f]+\n$/);
    const sig = await runWarden(['sign', '--key', 'k', 'hello.wasm', '--detached', '-'], { cwd });
    assert.equal(sig.code, 0, sig.stderr);
    assert.deepEqual(sig.stdoutBytes, readFileSync(join(cwd, 's.sig')));
    assert.equal(existsSync(join(cwd, '-')), false);
    oneLine(await runWarden(['sign', '--json', '--key', 'k', 'hello.wasm', '-o', '-'], { cwd }), 2, /--json cannot share it/);
  });

  it('keygen --out - and run --report - are refused in one line, no file written', async (t) => {
    const cwd = tempDir(t);
    oneLine(await runWarden(['keygen', '--out', '-'], { cwd }), 2, /^warden keygen: --out -: /);
    assert.equal(existsSync(join(cwd, '-')), false);
    assert.equal(existsSync(join(cwd, '-.pub')), false);
    oneLine(await runWarden(['run', '--report', '-', fixture('c', 'hello.wasm')], { cwd }), 125, /^warden run: --report -: /);
    assert.equal(existsSync(join(cwd, '-')), false);
  });
});

describe("pull -o -", { skip: !registryAvailable() && process.env.CI !== 'true' && 'needs /usr/bin/docker-registry' }, () => {
  let registry: Registry;
  before(async () => { registry = await startRegistry(); });
  after(async () => { await registry?.stop(); });

  it('writes the verified module to stdout, the pinned reference to stderr', async (t) => {
    const cwd = tempDir(t);
    copyFileSync(fixture('c', 'hello.wasm'), join(cwd, 'hello.wasm'));
    assert.equal((await runWarden(['keygen', '--out', 'k'], { cwd })).code, 0);
    assert.equal((await runWarden(['sign', '--key', 'k', 'hello.wasm', '-o', 'signed.wasm'], { cwd })).code, 0);
    const push = await runWarden(['push', '--oci', `${registry.address}/stdout/hello:1`, 'signed.wasm'], { cwd });
    assert.equal(push.code, 0, push.stderr);
    const pinned = push.stdout.trim();
    const pulled = await runWarden(['pull', pinned, '-o', '-'], { cwd });
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.deepEqual(pulled.stdoutBytes, readFileSync(join(cwd, 'signed.wasm')));
    assert.equal(pulled.stderr, `${pinned}\n`);
    assert.equal(existsSync(join(cwd, '-')), false);
    oneLine(await runWarden(['pull', pinned, '-o', '-', '--json'], { cwd }), 2, /--json cannot share it/);
  });
});
