// Flags a careless or hostile caller passes: an empty value (`--policy "$UNSET"`),
// a report path that cannot be written, a seed or a timeout outside what the
// option means, a data dir that is a file. Each is one line and the command's
// usage exit status, before anything runs or is written; none is silently
// taken for something else.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden, type CliResult } from '../helpers/cli.js';
import { fixture, wardenBin } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const hello = fixture('c', 'hello.wasm');

function oneLine(r: CliResult, code: number, message: string | RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout, '', 'nothing ran, nothing printed');
  if (typeof message === 'string') assert.equal(r.stderr, `${message}\n`);
  else assert.match(r.stderr, message);
  assert.equal(r.stderr.split('\n').length, 2, r.stderr);
}

describe('hostile flags', () => {
  it('an empty value is refused by the flag, not read as no flag (a policy) or as the working directory', async (t) => {
    const cwd = tempDir(t);
    oneLine(await runWarden(['run', '--policy', '', hello], { cwd }), 125, 'warden run: --policy needs a value, not an empty string');
    oneLine(await runWarden(['run', '--policy=', hello], { cwd }), 125, 'warden run: --policy needs a value, not an empty string');
    oneLine(await runWarden(['run', '--tmpfs', '', hello], { cwd }), 125, 'warden run: --tmpfs needs a value, not an empty string');
    oneLine(await runWarden(['run', '--stdin', '', hello], { cwd }), 125, 'warden run: --stdin needs a value, not an empty string');
    oneLine(await runWarden(['check', '--policy', '', hello], { cwd }), 2, 'warden check: --policy needs a value, not an empty string');
    oneLine(await runWarden(['inspect', '--key', '', hello], { cwd }), 2, 'warden inspect: --key needs a value, not an empty string');
    oneLine(await runWarden(['harden', '--all', hello, '-o', ''], { cwd }), 2, 'warden harden: -o needs a value, not an empty string');
    oneLine(await runWarden(['sign', '--key', 'k', hello, '--detached', ''], { cwd }), 2, 'warden sign: --detached needs a value, not an empty string');
    // Where an empty value means something, it is still taken: an export may be named "".
    const invoke = await runWarden(['run', '--invoke', '', hello], { cwd });
    assert.equal(invoke.code, 125);
    assert.match(invoke.stderr, /exports no function ""/);
  });

  it('a --report that cannot be written is refused before the guest runs', async (t) => {
    const cwd = tempDir(t);
    mkdirSync(join(cwd, 'adir'));
    oneLine(await runWarden(['run', '--report', 'adir', hello], { cwd }), 125, 'warden run: cannot write adir (EISDIR)');
    oneLine(await runWarden(['run', '--report', 'missing/r.json', hello], { cwd }), 125, 'warden run: cannot write missing/r.json (ENOENT)');
    writeFileSync(join(cwd, 'file'), '');
    oneLine(await runWarden(['run', '--report', 'file/r.json', hello], { cwd }), 125, 'warden run: cannot write file/r.json (ENOTDIR)');
    const ok = await runWarden(['run', '--report', 'r.json', hello], { cwd });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(existsSync(join(cwd, 'r.json')));
  });

  it('a seed past 32 bits and a zero timeout mean what the policy file says, or are refused', async (t) => {
    const cwd = tempDir(t);
    oneLine(await runWarden(['run', '--random', 'seeded:4294967296', hello], { cwd }), 125, "warden run: --random: 'seeded:4294967296' is not os or seeded:N (N from 0 to 4294967295)");
    assert.equal((await runWarden(['run', '--random', 'seeded:4294967295', hello], { cwd })).code, 0);
    writeFileSync(join(cwd, 'seed.toml'), 'random = "seeded:4294967296"\n');
    oneLine(await runWarden(['run', '--policy', 'seed.toml', hello], { cwd }), 125, /^warden run: .*seed\.toml: random: 'seeded:4294967296' is not none, os or seeded:N \(N from 0 to 4294967295\)\n$/);
    // A policy's timeout = "0s" is no deadline; --timeout 0s said the same, and ended every run at once.
    const zero = await runWarden(['run', '--timeout', '0s', hello], { cwd });
    assert.equal(zero.code, 0, zero.stderr);
    assert.equal(zero.stdout, 'hello from wasm-warden\n');
  });

  it('ls with a data dir that is a file says so, exit 2', async (t) => {
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'file'), '');
    oneLine(await runWarden(['ls', '--data-dir', 'file'], { cwd }), 2, /^warden ls: .*file is not a directory\n$/);
  });

  it('a module whose name is not UTF-8: the line says why it is not found', async (t) => {
    const cwd = tempDir(t);
    // The file is there, named with the byte 0xff (not UTF-8).
    copyFileSync(hello, Buffer.concat([Buffer.from(`${cwd}/bad`), Buffer.from([0xff]), Buffer.from('.wasm')]));
    // Through a shell: a Node string cannot carry the byte 0xff into an argument.
    const r = spawnSync('/bin/sh', ['-c', `"$0" "$1" inspect "$(printf 'bad\\377.wasm')"`, process.execPath, wardenBin], { cwd, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^warden inspect: bad\ufffd\.wasm: no such file \(its name as given holds U\+FFFD: a name that is not UTF-8 cannot be passed to warden; rename the file\)\n$/);
  });

  it('every other path argument whose name is not UTF-8 says so too, when it is not found', async (t) => {
    const cwd = tempDir(t);
    const bad = (before: string, after = '') => Buffer.concat([Buffer.from(`${cwd}/${before}`), Buffer.from([0xff]), Buffer.from(after)]);
    // Each file (or directory) is there, its name holding the byte 0xff.
    writeFileSync(bad('p', '.toml'), '');
    writeFileSync(bad('k', '.pub'), 'x');
    writeFileSync(bad('in'), 'x');
    mkdirSync(bad('d'));
    writeFileSync(bad('serve', '.toml'), '');
    const hint = '(its name as given holds U+FFFD: a name that is not UTF-8 cannot be passed to warden; rename the file)';
    const plugin = fixture('c', 'plugins', 'kernel-plugin.wasm');
    // `$B` is the byte 0xff in the shell; each command goes through a shell, which can carry it.
    const cases: Array<[string, number]> = [
      [`run --policy "p$B.toml" '${hello}'`, 125],
      [`check --policy "p$B.toml" '${hello}'`, 2],
      [`verify --key "k$B.pub" '${hello}'`, 2],
      [`run --stdin "in$B" '${hello}'`, 125],
      [`run --dir "d$B::/d" '${hello}'`, 125],
      [`run --file "in$B::/f" '${hello}'`, 125],
      [`call '${plugin}' echo --input "in$B"`, 125],
      [`serve --config "serve$B.toml"`, 2],
      // An output in a directory whose name is not UTF-8: the directory is not found.
      [`harden --all '${hello}' -o "d$B/out.wasm"`, 2],
      [`run --report "d$B/r.json" '${hello}'`, 125],
      [`init --out "d$B/p.toml"`, 2],
      [`keygen --out "d$B/k"`, 2],
      // Refused before any connection: the output is made first.
      [`pull 127.0.0.1:9/r@sha256:${'ab'.repeat(32)} -o "d$B/m.wasm"`, 2],
    ];
    for (const [command, status] of cases) {
      const r = spawnSync('/bin/sh', ['-c', `B="$(printf '\\377')"; "$0" "$1" ${command}`, process.execPath, wardenBin], { cwd, encoding: 'utf8' });
      assert.equal(r.status, status, `${command}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n').length, 2, `${command}: ${r.stderr}`);
      assert.ok(r.stderr.includes('\ufffd') && r.stderr.includes(hint), `${command}: ${r.stderr}`);
    }
  });
});
