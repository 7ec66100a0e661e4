import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const wimg = join(repoRoot, 'examples', 'vulnerable-decoder', 'wimg.wasm');

describe('warden harden', () => {
  it('writes the hardened module (exit 0) and lists each pass; --json gives the same', async (t) => {
    const dir = tempDir(t);
    const r = await runWarden(['harden', '--stack-guard', '--null-guard', '--null-guard-size=512', '--rodata-guard', wimg, '-o', join(dir, 'out.wasm')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stack-guard +applied, \d+ sites/);
    assert.match(r.stdout, /null-guard +applied, \d+ sites: loads and stores below 512 trap/);
    assert.match(r.stdout, /rodata-guard +applied, \d+ sites: stores into \[1024, 3680\)/);
    assert.doesNotMatch(r.stdout, /bulk-guard/);
    assert.ok(WebAssembly.validate(readFileSync(join(dir, 'out.wasm'))));
    const j = await runWarden(['harden', '--all', '--json', wimg, '-o', join(dir, 'all.wasm')]);
    assert.equal(j.code, 0, j.stderr);
    const parsed = JSON.parse(j.stdout);
    assert.deepEqual(parsed.passes.map((p: { pass: string; status: string }) => [p.pass, p.status]), [['stack', 'applied'], ['null', 'applied'], ['rodata', 'applied'], ['bulk', 'applied']]);
    assert.equal(parsed.layout.rodata.start, 1024);
    const again = await runWarden(['harden', '--all', join(dir, 'all.wasm'), '-o', join(dir, 'again.wasm')]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already present/);
    assert.ok(readFileSync(join(dir, 'again.wasm')).equals(readFileSync(join(dir, 'all.wasm'))), 'idempotent');
  });

  it('a module hardened before it ships keeps the host\'s writes out of its guarded ranges too, in every isolation, from a cold and a warm cache', async (t) => {
    const dir = tempDir(t);
    const hardened = join(dir, 'hardened.wasm');
    assert.equal((await runWarden(['harden', '--null-guard', fixture('c', 'harden_bugs.wasm'), '-o', hardened])).code, 0);
    const data = join(dir, 'data');
    // harden_bugs host-write 16: args_get given its pointer array at address 16, in the null page.
    const plain = await runWarden(['run', '--data-dir', data, fixture('c', 'harden_bugs.wasm'), '--', 'host-write', '16']);
    assert.match(plain.stdout, /^\S*harden_bugs\.wasm \| static marker intact\n$/, 'plain, the host writes there');
    for (const isolation of ['none', 'thread', 'process', 'process']) {
      const r = await runWarden(['run', '--data-dir', data, '--isolation', isolation, hardened, '--', 'host-write', '16']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'verdict: clean | static marker intact\n', isolation);
    }
  });

  it('inspect shows the passes a hardened module carries', async (t) => {
    const dir = tempDir(t);
    await runWarden(['harden', '--rodata-guard', wimg, '-o', join(dir, 'h.wasm')]);
    const r = await runWarden(['inspect', join(dir, 'h.wasm')]);
    assert.match(r.stdout, /hardening +rodata-guard verified/);
    assert.match(r.stdout, /would apply +stack-guard, null-guard/);
    const j = JSON.parse((await runWarden(['inspect', '--json', join(dir, 'h.wasm')])).stdout);
    assert.equal(j.memorySafety.hardening[0].pass, 'rodata');
  });

  it('exit 2: no pass, no -o, unreadable or invalid input, a pass that cannot apply, bad sizes', async (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'o.wasm');
    const cases: string[][] = [
      ['harden', wimg, '-o', out],
      ['harden', '--all', wimg],
      ['harden', '--all', join(dir, 'missing.wasm'), '-o', out],
      ['harden', '--stack-guard', fixture('c', 'layout_stack_first.wasm'), '-o', out],
      ['harden', '--null-guard', '--null-guard-size', 'lots', wimg, '-o', out],
      ['harden', '--rodata-guard', '--rodata-range', '9..3', wimg, '-o', out],
      ['harden', '--bogus', wimg, '-o', out],
    ];
    writeFileSync(join(dir, 'junk.wasm'), 'not wasm');
    cases.push(['harden', '--all', join(dir, 'junk.wasm'), '-o', out]);
    for (const args of cases) {
      const r = await runWarden(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    const help = await runWarden(['harden', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--null-guard-size SIZE/);
    assert.equal((await runWarden(['help', 'harden'])).stdout, help.stdout);
  });

  it('a signed module: the signature no longer covers it and is removed; re-signed, it verifies', async (t) => {
    const dir = tempDir(t);
    const cwd = dir;
    await runWarden(['keygen', '--out', 'k'], { cwd });
    assert.equal((await runWarden(['sign', '--key', 'k', wimg, '-o', 'signed.wasm'], { cwd })).code, 0);
    const h = await runWarden(['harden', '--all', 'signed.wasm', '-o', 'hardened.wasm'], { cwd });
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stderr, /signature does not cover the hardened module/);
    const unsigned = await runWarden(['verify', '--key', 'k.pub', 'hardened.wasm'], { cwd });
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /not signed/);
    assert.equal((await runWarden(['sign', '--key', 'k', 'hardened.wasm', '-o', 'resigned.wasm'], { cwd })).code, 0);
    assert.equal((await runWarden(['verify', '--key', 'k.pub', 'resigned.wasm'], { cwd })).code, 0);
    const run = await runWarden(['run', '--dir', `${join(repoRoot, 'examples', 'vulnerable-decoder')}::/in`, 'resigned.wasm', '/in/null.wimg'], { cwd });
    assert.equal(run.code, 134);
    assert.match(run.stderr, /null-guard/);
  });
});
