// warden run --invoke and --unknown-imports, as a user runs them.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { wat, watFixture } from '../helpers/wat.js';

describe('warden run --invoke', () => {
  it('prints results one per line as Wasmtime does; exit 0', async (t) => {
    const path = join(tempDir(t), 'exports.wasm');
    writeFileSync(path, await watFixture('invoke-exports'));
    const cases: Array<[string[], string]> = [
      [['add', '2', '3'], '5\n'],
      [['from_base', '5'], '105\n'],
      [['neg64', '9223372036854775807'], '-9223372036854775807\n'],
      [['half32', '0.2'], '0.1\n'],
      [['div64', '1', '0'], 'inf\n'],
      [['div64', '0', '0'], 'NaN\n'],
      [['div64', '1', '3e10'], '0.000000000033333333333333335\n'],
      [['pair', '-7'], '-7\n-7\n'],
      [['nothing'], ''],
    ];
    for (const [[fn, ...args], out] of cases) {
      const r = await runWarden(['run', '--invoke', fn!, path, '--', ...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, out, `${fn} ${args.join(' ')}`);
    }
  });

  it('exit 134 on a trap, 125 on a missing export or a bad argument, with one line each', async (t) => {
    const path = join(tempDir(t), 'exports.wasm');
    writeFileSync(path, await watFixture('invoke-exports'));
    const trap = await runWarden(['run', '--invoke', 'boom', path]);
    assert.equal(trap.code, 134);
    assert.match(trap.stderr, /unreachable/);
    const missing = await runWarden(['run', '--invoke', 'nope', path]);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /export-missing: exports no function "nope"; its functions: "add"/);
    const bad = await runWarden(['run', '--invoke', 'add', path, '--', '1', 'two']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(bad.stderr, /argument 2 \(i32\): 'two' is not an integer/);
  });

  it('--json carries the results in the record; --report too', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'exports.wasm');
    writeFileSync(path, await watFixture('invoke-exports'));
    const r = await runWarden(['run', '--json', '--report', join(dir, 'r.json'), '--invoke', 'pair', path, '--', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).results, [3, '3']);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).results, [3, '3']);
  });
});

describe('warden run --unknown-imports', () => {
  const bench = fixture('c', 'plugins', 'sightglass-bench.wasm');
  it('refuses by default with the fix named; zero runs the benchmark; trap ends it with 134', async () => {
    const refused = await runWarden(['run', bench]);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /import-unknown-module: imports bench\.start; fix: .*--unknown-imports trap\|zero/);
    const zero = await runWarden(['run', '--unknown-imports', 'zero', bench]);
    assert.equal(zero.code, 0, zero.stderr);
    assert.equal(zero.stdout, 'sum of squares 1..1000 = 333833500\n');
    const trap = await runWarden(['run', '--unknown-imports=trap', '--json', bench]);
    assert.equal(trap.code, 134);
    const record = JSON.parse(trap.stdout);
    assert.equal(record.trap.kind, 'unknown-import');
    assert.deepEqual(record.unknownImports, { mode: 'trap', imports: ['bench.start', 'bench.end'] });
    const usage = await runWarden(['run', '--unknown-imports', 'maybe', bench]);
    assert.equal(usage.code, 125);
    assert.match(usage.stderr, /--unknown-imports: 'maybe' is not refuse, trap or zero/);
  });
});

describe('a module\'s import names on the terminal', () => {
  it('cannot send terminal escapes or forge a line of warden\'s own: refused (run, call, check) or trapping (--unknown-imports trap)', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'names.wasm');
    // The module and import names are the module's own bytes: an OSC retitle, a bell, a newline forging a line, a screen wipe, a C1 CSI.
    writeFileSync(path, await wat(`(module
      (import "evil\\1b]0;owned\\07\\0awarden run: all good" "x\\1b[2J\\0d\\c2\\9b31m" (func $x))
      (func (export "_start") (call $x)))`));
    const policy = join(dir, 'policy.toml');
    writeFileSync(policy, '');
    const shown = String.raw`evil\x1b]0;owned\x07\x0awarden run: all good.x\x1b[2J\x0d\x9b31m`;
    const refused = await runWarden(['run', path]);
    assert.equal(refused.code, 125);
    const trapped = await runWarden(['run', '--unknown-imports', 'trap', path]);
    assert.equal(trapped.code, 134);
    assert.equal(trapped.stderr, `warden run: ${path}: unknown-import: called ${shown}, an import nothing provides\n`);
    const called = await runWarden(['call', path, '_start']);
    assert.equal(called.code, 125);
    const checked = await runWarden(['check', '--policy', policy, path]);
    assert.equal(checked.code, 1);
    for (const [what, text] of [['run', refused.stderr], ['call', called.stderr], ['check', checked.stdout]] as const) {
      assert.ok(text.includes(`import-unknown-module: imports ${shown}; fix:`), `${what}: ${JSON.stringify(text)}`);
    }
    for (const text of [refused.stderr, trapped.stderr, called.stderr, checked.stdout, checked.stderr]) {
      assert.doesNotMatch(text, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, JSON.stringify(text));
      assert.doesNotMatch(text, /^warden run: all good/m);
    }
  });
});
