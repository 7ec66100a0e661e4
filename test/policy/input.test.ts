// The policy as a newcomer writes it: a typed PolicyInput (typos and unit-less
// sizes fail at compile time, and bare numbers at run time, naming the units);
// missing mounts refused when the sandbox is created and by warden check;
// relative paths read from the policy file's directory; syntax errors with
// line and column; each admission refusal with its fix.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePolicyInput, type PolicyInput } from '../../src/policy/input.js';
import { PolicyError } from '../../src/policy/load.js';
import { loadPolicy } from '../../src/policy/read-file.js';
import { ADMISSION_RULES } from '../../src/sandbox/admission.js';
import { fixFor } from '../../src/sandbox/admission-fixes.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

describe('PolicyInput', () => {
  it('types sizes and durations as strings with units; typos do not compile', () => {
    const good: PolicyInput = { mount: [{ host: '/srv', guest: '/data', mode: 'ro' }, { kind: 'tmpfs', guest: '/tmp' }], clock: 'coarse:1ms', limits: { memory: '64MiB', timeout: '2s', fuel: 1e9 } };
    assert.equal(parsePolicyInput({ limits: good.limits! }).limits.memory, 64 * 1024 * 1024);
    // Each line below would compile if the type were loose; tsc fails the build otherwise.
    // @ts-expect-error a bare number is not a Size
    const bare: PolicyInput = { limits: { memory: 64 } };
    // @ts-expect-error a misspelt limit key
    const typo: PolicyInput = { limits: { memroy: '64MiB' } };
    // @ts-expect-error a duration needs a unit
    const unitless: PolicyInput = { limits: { timeout: '2' } };
    // @ts-expect-error modes are ro and rw
    const mode: PolicyInput = { mount: [{ host: '/srv', guest: '/data', mode: 'readonly' }] };
    assert.ok(bare && typo && unitless && mode);
  });

  it('refuses bare numbers for sizes and durations at run time, naming the units', async () => {
    const plainJs = { limits: { memory: 64, timeout: 2000, fuel: 5 } } as unknown as PolicyInput;
    assert.throws(() => parsePolicyInput(plainJs), (e: unknown) => e instanceof PolicyError && e.problems.length === 2 &&
      /limits\.memory: 64 is a bare number; give the unit, e\.g\. '64MiB', '1GiB' or '4096B' \(units: B, KiB/.test(e.problems[0]!) &&
      /limits\.timeout: 2000 is a bare number; give the unit, e\.g\. '500ms' or '2s'/.test(e.problems[1]!));
    await assert.rejects(createSandbox(plainJs), /limits\.memory: 64 is a bare number/);
  });

  it('a mount whose host directory is missing is refused when the sandbox is created', async (t) => {
    const dir = tempDir(t);
    await assert.rejects(createSandbox({ mount: [{ host: join(dir, 'nope'), guest: '/data' }] }),
      (e: unknown) => e instanceof PolicyError && /mount\[0\]\.host: the directory .*nope does not exist/.test(e.message));
    writeFileSync(join(dir, 'file'), 'x');
    await assert.rejects(createSandbox({ mount: [{ host: join(dir, 'file'), guest: '/data' }] }), /is not a directory/);
    await assert.rejects(createSandbox({ mount: [{ kind: 'file', host: join(dir, 'gone'), guest: '/etc/x' }] }), /the file .*gone does not exist/);
  });
});

describe('policy files', () => {
  it('relative mount and key paths resolve against the policy file\'s directory, not the working directory', async (t) => {
    const root = tempDir(t);
    const conf = join(root, 'conf');
    mkdirSync(join(conf, 'data'), { recursive: true });
    writeFileSync(join(conf, 'data', 'in.txt'), 'from the policy dir\n');
    writeFileSync(join(conf, 'p.toml'), '[[mount]]\nhost = "data"\nguest = "/data"\n');
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere);
    assert.equal(loadPolicy(join(conf, 'p.toml')).mounts[0]!.kind === 'host' && (loadPolicy(join(conf, 'p.toml')).mounts[0] as { host: string }).host, join(conf, 'data'));
    const r = await runWarden(['run', '--policy', '../conf/p.toml', fixture('c', 'wasi', 'cat.wasm'), '/data/in.txt'], { cwd: elsewhere });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^from the policy dir\n/);
    writeFileSync(join(conf, 'missing.toml'), '[[mount]]\nhost = "absent"\nguest = "/data"\n\n[trust]\nkeys = ["keys/alice.pub"]\n');
    assert.throws(() => loadPolicy(join(conf, 'missing.toml')), new RegExp(`trust\\.keys\\[0\\]: cannot read key keys/alice\\.pub \\(${conf}/keys/alice\\.pub, relative to the policy's directory ${conf}\\): no such file`));
    writeFileSync(join(conf, 'absent.toml'), '[[mount]]\nhost = "absent"\nguest = "/data"\n');
    const check = await runWarden(['check', '--policy', '../conf/absent.toml', fixture('c', 'hello.wasm')], { cwd: elsewhere });
    assert.equal(check.code, 2);
    assert.equal(check.stderr, `warden check: ../conf/absent.toml: mount[0].host: the directory ${conf}/absent does not exist\n`);
  });

  it('TOML and JSON syntax errors give line and column', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'bad.toml'), 'clock = "real"\n[limits]\nmemory = "64MiB\n');
    assert.throws(() => loadPolicy(join(dir, 'bad.toml')), /bad\.toml: not valid TOML at line 3, column \d+: /);
    writeFileSync(join(dir, 'bad.json'), '{\n  "clock": "real",\n  "limits": { memory: 1 }\n}\n');
    assert.throws(() => loadPolicy(join(dir, 'bad.json')), /bad\.json: not valid JSON at line 3, column \d+: /);
  });
});

describe('admission fixes', () => {
  it('every rule a policy or a rebuild can fix names the fix', () => {
    for (const rule of ADMISSION_RULES) {
      if (rule === 'malformed') continue;
      assert.ok(fixFor({ rule, message: 'imports random_get (random), which the policy does not grant' }), rule);
    }
    const fix = (name: string) => fixFor({ rule: 'import-not-granted', message: `imports ${name} (x), which the policy does not grant` });
    assert.match(fix('random_get')!, /random = "os" \(warden run --random os\)/);
    assert.match(fix('clock_time_get')!, /clock = "coarse:1ms"/);
    assert.match(fix('path_open')!, /\[\[mount\]\].*imports\.allow = \["path_open"\]/);
    assert.match(fix('sched_yield')!, /imports\.allow = \["sched_yield"\]/);
    assert.match(fixFor({ rule: 'feature-not-allowed', message: 'uses memory64, which the policy does not allow' })!, /features\.memory64 = true/);
  });
});
