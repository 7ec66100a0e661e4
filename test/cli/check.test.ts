import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { watFixture } from '../helpers/wat.js';

describe('warden check and warden run --policy', () => {
  it('check: 0 when admitted, 1 listing each rule when refused, 2 for a bad policy', async (t) => {
    const dir = tempDir(t);
    const policy = join(dir, 'p.toml');
    writeFileSync(policy, '[limits]\nmemory = "1MiB"\n');
    const ok = await runWarden(['check', '--policy', policy, fixture('c', 'hello.wasm')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /admitted/);
    const threads = join(dir, 'threads.wasm');
    writeFileSync(threads, await watFixture('audit-threads'));
    const refused = await runWarden(['check', '--policy', policy, '--json', threads]);
    assert.equal(refused.code, 1);
    const verdict = JSON.parse(refused.stdout);
    assert.deepEqual(verdict.violations.map((v: { rule: string }) => v.rule).sort(), ['atomics', 'not-a-command', 'shared-memory']);
    writeFileSync(join(dir, 'bad.toml'), '[limits]\nmemory = "lots"\n');
    const bad = await runWarden(['check', '--policy', join(dir, 'bad.toml'), fixture('c', 'hello.wasm')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad\.toml: limits\.memory: "lots" is not a size/);
    assert.equal((await runWarden(['check', fixture('c', 'hello.wasm')])).code, 2);
  });

  it('run --policy: the policy grants, flags override, refusals exit 125 with the rules in the report', async (t) => {
    const dir = tempDir(t);
    const policy = join(dir, 'p.toml');
    writeFileSync(policy, 'args = ["from-policy"]\n[env]\nFROM = "policy"\n[limits]\nfuel = 1000\n');
    const fueled = await runWarden(['run', '--policy', policy, fixture('c', 'bench', 'sha256.wasm'), '--', '1']);
    assert.equal(fueled.code, 134);
    assert.match(fueled.stderr, /fuel/);
    const denied = await runWarden(['run', '--policy', policy, '--fuel', '0', fixture('c', 'wasi', 'basics.wasm')]);
    assert.equal(denied.code, 125); // it imports clocks and randomness, which the policy does not grant
    const overridden = await runWarden(['run', '--policy', policy, '--fuel', '0', '--clock', 'coarse', '--random', 'os', '--env', 'EXTRA=flag', fixture('c', 'wasi', 'basics.wasm')]);
    assert.equal(overridden.code, 0, overridden.stderr);
    assert.match(overridden.stdout, /env FROM=policy\nenv EXTRA=flag\n/);
    const report = join(dir, 'refused.json');
    const sock = join(dir, 'imports.wasm');
    writeFileSync(sock, await watFixture('audit-imports'));
    const refused = await runWarden(['run', '--policy', policy, '--report', report, sock]);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /refused before running:\n  import-unknown-module: /);
    const record = JSON.parse(readFileSync(report, 'utf8'));
    assert.ok(record.refused.some((v: { rule: string }) => v.rule === 'import-not-granted'));
  });

  it('--memory-limit caps memory.grow; --isolation process runs in a child', async (t) => {
    const grow = join(tempDir(t), 'grow.wasm');
    writeFileSync(grow, await watFixture('hostile-grow'));
    const r = await runWarden(['run', '--memory-limit', '32MiB', grow]);
    assert.equal(r.code, 2); // 512 pages / 256
    const p = await runWarden(['run', '--isolation', 'process', fixture('c', 'hello.wasm'), '--', 'child']);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stdout, 'hello from wasm-warden, child\n');
  });
});
