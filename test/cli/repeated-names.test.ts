// A name given twice on the command line (`--env A=1 --env A=2`, `call --config k=1
// --config k=2`) is refused, naming the flag and the name, as a TOML policy refuses a key
// given twice; a JSON policy file refuses it too, where JSON.parse had kept the last.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const basics = fixture('c', 'wasi', 'basics.wasm');
const plugin = fixture('c', 'plugins', 'kernel-plugin.wasm');
const grants = ['--clock', 'coarse', '--random', 'os'];

describe('a name given twice', () => {
  it('warden run --env: refused with one line naming the flag and the name, exit 125, the guest never run', async () => {
    const cases: Array<[string[], string]> = [
      [['--env', 'A=1', '--env', 'A=2'], '--env A=2: A is already set by --env A=1'],
      [['--env', 'A=1', '--env=A=1'], '--env A=1: A is already set by --env A=1'],
      [['--env', 'WARDEN_PASS', '--env', 'WARDEN_PASS=x'], '--env WARDEN_PASS=x: WARDEN_PASS is already set by --env WARDEN_PASS'],
      [['--env', 'B=', '--env', 'B'], '--env B: B is already set by --env B='],
    ];
    for (const [flags, message] of cases) {
      const r = await runWarden(['run', ...grants, ...flags, basics], { env: { WARDEN_PASS: 'through', B: 'host' } });
      assert.equal(r.code, 125, `${flags.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `warden run: ${message}\n`);
      assert.equal(r.stdout, '');
    }
  });

  it('warden run --env once over a policy file\'s variable replaces it, as every flag does', async (t) => {
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'p.toml'), '[env]\nA = "file"\n');
    const r = await runWarden(['run', '--policy', 'p.toml', ...grants, '--env', 'A=flag', basics], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /env A=flag\nenv count 1\n/);
  });

  it('warden call --config: refused the same way', async () => {
    const r = await runWarden(['call', plugin, 'config', '--input', '-', '--config', 'greeting=a', '--config', 'greeting=b'], { input: 'greeting' });
    assert.equal(r.code, 125, r.stderr);
    assert.equal(r.stderr, 'warden call: --config greeting=b: greeting is already set by --config greeting=a\n');
    assert.equal(r.stdout, '');
  });

  it('a JSON policy file refuses a key given twice, anywhere, with its line, as a TOML one does', async (t) => {
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'env.json'), '{\n  "env": { "A": "1", "A": "2" }\n}\n');
    // An escape spells the same key: still twice.
    writeFileSync(join(cwd, 'limits.json'), '{ "limits": { "fuel": 0, "fu\\u0065l": 1000 } }');
    writeFileSync(join(cwd, 'top.json'), '{ "args": ["a"], "env": {}, "args": ["b"] }');
    // The same name in two objects, or as a value, is not a repeat.
    writeFileSync(join(cwd, 'fine.json'), '{ "env": { "A": "A", "B": "{\\"A\\": 1}" }, "args": ["A", "A"], "plugin": { "config": { "A": "x" } } }');
    const cases: Array<[string, string]> = [
      ['env.json', 'at line 2, column 22: the key "A" is given twice'],
      ['limits.json', 'at line 1, column 26: the key "fuel" is given twice'],
      ['top.json', 'at line 1, column 29: the key "args" is given twice'],
    ];
    for (const [file, where] of cases) {
      const r = await runWarden(['run', '--policy', file, basics], { cwd });
      assert.equal(r.code, 125, r.stderr);
      assert.equal(r.stderr, `warden run: ${join(cwd, file)}: not valid JSON ${where}\n`);
      const check = await runWarden(['check', '--policy', file, fixture('c', 'hello.wasm')], { cwd });
      assert.equal(check.code, 2, check.stderr);
      assert.equal(check.stderr.trim().split('\n').length, 1, check.stderr);
    }
    const fine = await runWarden(['run', '--policy', 'fine.json', ...grants, basics], { cwd });
    assert.equal(fine.code, 0, fine.stderr);
    assert.match(fine.stdout, /env A=A\n/);
  });
});
