// Attack on a newcomer: `--timeout 2` meant 2 ms and killed a guest after
// partial output. On the command line a duration needs a unit; a bare number
// is refused before anything runs, with a message naming the units. A policy
// file's TOML number stays milliseconds (documented), but a policy string must
// carry its unit too.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { toMilliseconds } from '../../src/policy/units.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

describe('durations need a unit', () => {
  it('warden run --timeout 2 is refused (125) before the guest runs, naming the units', async () => {
    for (const text of ['2', '2.5', ' 30 ']) {
      const r = await runWarden(['run', '--timeout', text, fixture('c', 'hello.wasm')]);
      assert.equal(r.code, 125, r.stderr);
      assert.equal(r.stdout, '', 'the guest did not run');
      assert.match(r.stderr, /^warden run: --timeout: '.*' needs a unit \(500us, 500ms, 2s, 1m, 1h\)/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
    const ok = await runWarden(['run', '--timeout=2s', fixture('c', 'hello.wasm')]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('every other duration flag refuses a bare number too (exit 2)', async (t) => {
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'm.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const pull = await runWarden(['pull', '127.0.0.1:9/x/y:1', '-o', 'out.wasm', '--timeout', '5'], { cwd });
    assert.equal(pull.code, 2);
    assert.match(pull.stderr, /--timeout: '5' needs a unit/);
    const push = await runWarden(['push', '--oci', '127.0.0.1:9/x/y:1', '--timeout', '5', 'm.wasm'], { cwd });
    assert.equal(push.code, 2);
    assert.match(push.stderr, /--timeout: '5' needs a unit/);
  });

  it('policies: a number is milliseconds, a string needs its unit', () => {
    assert.equal(toMilliseconds('2'), null);
    assert.equal(toMilliseconds('2s'), 2000);
    assert.equal(parsePolicy({ limits: { timeout: 1500 } }).limits.timeoutMs, 1500);
    assert.equal(parsePolicy({ limits: { timeout: '1500ms' } }).limits.timeoutMs, 1500);
    assert.throws(() => parsePolicy({ limits: { timeout: '2' } }, 'p.toml'), /p\.toml: limits\.timeout: "2" needs a unit \(500us, 500ms, 2s, 1m, 1h, or a number of milliseconds\)/);
  });
});
