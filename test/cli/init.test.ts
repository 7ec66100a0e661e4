// warden init: a commented, deny-by-default starter policy that validates as
// written, and again with its common grants uncommented.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { STARTER_POLICY } from '../../src/cli/commands/init.js';
import { loadPolicy } from '../../src/policy/read-file.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

describe('warden init', () => {
  it('writes a deny-by-default policy that runs hello and refuses what it does not grant', async (t) => {
    const cwd = tempDir(t);
    const r = await runWarden(['init'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote policy\.toml/);
    assert.equal(readFileSync(join(cwd, 'policy.toml'), 'utf8'), STARTER_POLICY);
    const policy = loadPolicy(join(cwd, 'policy.toml'));
    assert.deepEqual([policy.mounts, policy.clock, policy.random, policy.env], [[], null, null, []]);
    assert.equal(policy.limits.timeoutMs, 10_000);
    const run = await runWarden(['run', '--policy', 'policy.toml', fixture('c', 'hello.wasm')], { cwd });
    assert.equal(run.code, 0, run.stderr);
    const refused = await runWarden(['check', '--policy', 'policy.toml', fixture('c', 'wasi', 'basics.wasm')], { cwd });
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /random_get .*fix: grant it with random = "os"/);
    const piped = await runWarden(['init', '--out', '-'], { cwd });
    assert.equal(piped.stdout, STARTER_POLICY);
    assert.equal(existsSync(join(cwd, '-')), false, "'-' is stdout, not a file of that name");
    const again = await runWarden(['init'], { cwd });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /policy\.toml exists; pass --force/);
    assert.equal((await runWarden(['init', '--force'], { cwd })).code, 0);
    // A dangling link is something there too: it is not replaced without --force.
    const linked = join(cwd, 'linked.toml');
    symlinkSync('missing/policy.toml', linked);
    const overLink = await runWarden(['init', '--out', 'linked.toml'], { cwd });
    assert.equal(overLink.code, 2, overLink.stderr);
    assert.match(overLink.stderr, /linked\.toml exists; pass --force/);
    assert.equal(readlinkSync(linked), 'missing/policy.toml');
    const keyLink = join(cwd, 'key.pub');
    symlinkSync('missing/key.pub', keyLink);
    const keygen = await runWarden(['keygen', '--out', 'key'], { cwd });
    assert.equal(keygen.code, 2, keygen.stderr);
    assert.equal(readlinkSync(keyLink), 'missing/key.pub');
    assert.ok(!existsSync(join(cwd, 'key')), 'no secret key written beside the kept link');
  });

  it('every commented grant validates once uncommented', (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'publisher.pub'), Uint8Array.from([1, ...new Array(32).fill(7)]));
    const uncommented = STARTER_POLICY.split('\n').map((line) => line.replace(/^# (?=[\w-]+ = |\[)/, '')).join('\n');
    writeFileSync(join(dir, 'all.toml'), uncommented);
    const policy = loadPolicy(join(dir, 'all.toml'));
    assert.equal(policy.clock?.kind, 'coarse');
    assert.deepEqual(policy.random, { kind: 'os' });
    assert.equal(policy.mounts.length, 2);
    assert.equal(policy.trust.require, 1);
    assert.equal(policy.limits.fuel, 1_000_000_000);
  });
});
