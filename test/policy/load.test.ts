import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EMPTY_POLICY, parsePolicy, PolicyError } from '../../src/policy/load.js';
import { loadPolicy } from '../../src/policy/read-file.js';
import { applyOverrides } from '../../src/policy/overrides.js';
import { tempDir } from '../helpers/tmp.js';

describe('policies', () => {
  it('the empty policy grants nothing but stdout and stderr', () => {
    assert.deepEqual(EMPTY_POLICY.mounts, []);
    assert.deepEqual(EMPTY_POLICY.env, []);
    assert.equal(EMPTY_POLICY.clock, null);
    assert.equal(EMPTY_POLICY.random, null);
    assert.deepEqual(EMPTY_POLICY.stdin, { kind: 'none' });
    assert.equal(EMPTY_POLICY.stdout, 'capture');
    assert.equal(EMPTY_POLICY.limits.memory, 1024 ** 3);
    assert.equal(EMPTY_POLICY.limits.fuel, null);
    assert.ok(!EMPTY_POLICY.features.has('threads'));
  });

  it('loads TOML with every section', (t) => {
    const path = join(tempDir(t), 'tenant.toml');
    writeFileSync(path, `
args = ["app", "--fast"]
clock = "frozen"
random = "seeded:7"
isolation = "process"
[env]
LANG = "C"
[[mount]]
host = "/srv/tenant/a"
guest = "/data"
mode = "rw"
[[mount]]
kind = "tmpfs"
guest = "/tmp"
[stdio]
stdin = "file:/srv/in.txt"
stdout = "discard"
[limits]
memory = "64MiB"
timeout = "2s"
fuel = 1000000
fds = 32
[features]
simd = false
[trust]
pins = ["sha256:${'a'.repeat(64)}"]
`);
    const policy = loadPolicy(path);
    assert.deepEqual(policy.mounts, [{ kind: 'host', host: '/srv/tenant/a', guest: '/data', readOnly: false }, { kind: 'tmpfs', guest: '/tmp' }]);
    assert.deepEqual(policy.clock, { kind: 'frozen' });
    assert.deepEqual(policy.random, { kind: 'seeded', seed: 7 });
    assert.deepEqual(policy.stdin, { kind: 'file', path: '/srv/in.txt' });
    assert.equal(policy.stdout, 'discard');
    assert.equal(policy.limits.memory, 64 * 1024 * 1024);
    assert.equal(policy.limits.timeoutMs, 2000);
    assert.equal(policy.limits.fuel, 1_000_000);
    assert.equal(policy.isolation, 'process');
    assert.ok(!policy.features.has('simd'));
    assert.ok(Object.isFrozen(policy) && Object.isFrozen(policy.limits) && Object.isFrozen(policy.mounts));
    assert.throws(() => (policy.features as Set<string>).add('threads'), /frozen/);
  });

  it('names every offending key, all at once', () => {
    assert.throws(() => parsePolicy({
      limits: { memory: '12 parsecs', fds: -1, bogus: 1 },
      mount: [{ host: '/x' }],
      clock: 'sundial',
      features: { warp: true },
      stdio: { stdout: 'printer' },
      trust: { pins: ['sha256:zz'] },
      surprise: 1,
    }), (error: unknown) => {
      assert.ok(error instanceof PolicyError);
      const text = error.problems.join('\n');
      for (const key of ['limits.memory', 'limits.fds', 'limits.bogus', 'mount[0].guest', 'clock', 'features.warp', 'stdio.stdout', 'trust.pins', 'surprise']) {
        assert.ok(text.includes(`${key}:`), `${key} missing from:\n${text}`);
      }
      return true;
    });
  });

  it('reports unreadable and unparsable files with the file name', (t) => {
    const dir = tempDir(t);
    assert.throws(() => loadPolicy(join(dir, 'missing.toml')), /missing\.toml: cannot read/);
    writeFileSync(join(dir, 'bad.toml'), 'limits = [ = ');
    assert.throws(() => loadPolicy(join(dir, 'bad.toml')), /bad\.toml: not valid TOML/);
    writeFileSync(join(dir, 'bad.json'), '{');
    assert.throws(() => loadPolicy(join(dir, 'bad.json')), /bad\.json: not valid JSON/);
  });

  it('flags override the policy and return a new frozen policy', () => {
    const base = parsePolicy({ limits: { memory: '1GiB' }, env: { A: '1' } });
    const next = applyOverrides(base, { limits: { memory: 1 << 20 }, env: [['A', '2'], ['B', '3']], mounts: [{ kind: 'tmpfs', guest: '/t' }] });
    assert.equal(next.limits.memory, 1 << 20);
    assert.deepEqual(next.env, [['A', '2'], ['B', '3']]);
    assert.equal(base.limits.memory, 1024 ** 3);
    assert.ok(Object.isFrozen(next));
    assert.throws(() => applyOverrides(next, { mounts: [{ kind: 'tmpfs', guest: '/t' }] }), /mounted twice/);
  });

  it('never throws anything but a PolicyError on arbitrary input', () => {
    const value = fc.letrec((tie) => ({
      any: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(tie('any'), { maxLength: 3 }), tie('obj')),
      obj: fc.dictionary(fc.constantFrom('mount', 'limits', 'memory', 'env', 'clock', 'stdio', 'features', 'trust', 'pins', 'guest', 'host', 'mode', 'x'), tie('any'), { maxKeys: 4 }),
    })).any;
    fc.assert(fc.property(value, (input) => {
      try {
        parsePolicy(input);
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
        assert.ok(error.problems.length > 0);
      }
    }), { seed: 5, numRuns: 2000 });
  });
});


describe('the documented examples', () => {
  it('every TOML example in docs/policy.md loads', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('smol-toml');
    const { repoRoot } = await import('../helpers/paths.js');
    const doc = readFileSync(join(repoRoot, 'docs', 'policy.md'), 'utf8');
    const examples = [...doc.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    assert.ok(examples.length >= 3);
    for (const text of examples) {
      const raw = parse(text) as Record<string, { keys?: unknown }>;
      // Key files named in examples do not exist here; everything else must load as written.
      if (raw.trust) delete raw.trust.keys;
      if (raw.trust && !('keys' in raw.trust)) delete (raw.trust as Record<string, unknown>).require;
      assert.doesNotThrow(() => parsePolicy(raw), text.split('\n')[0]);
    }
  });
});
