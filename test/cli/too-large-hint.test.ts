// The module-too-large refusal's fix says what made the module too large: a
// module over limits.module-size as shipped is told to raise it; one within it
// that fuel metering, the deadline checkpoints or the hardening guards would
// take past V8's limit is told which of them, since raising module-size would
// change nothing. The real CLI, modules built in temp files.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { startWithMemory } from '../helpers/module-builder.js';
import { tempDir } from '../helpers/tmp.js';

/** `_start`: one body of `fills` memory.fill(0, 0, 0): chunked under a deadline, charged under fuel. */
function denseFills(fills: number): Uint8Array {
  const code: number[] = [];
  for (let i = 0; i < fills; i++) code.push(0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 11, 0);
  return startWithMemory(code);
}

/** `_start`: one body of `loads` chained i32.loads from 2048: a null guard in front of each. */
function denseLoads(loads: number): Uint8Array {
  const code: number[] = [0x41, 0x80, 0x10];
  for (let i = 0; i < loads; i++) code.push(0x28, 0x02, 0x00);
  code.push(0x1a);
  return startWithMemory(code);
}

describe('the module-too-large refusal names its cause', () => {
  it('fuel, a deadline, hardening, or the module-size limit', async (t) => {
    const cwd = tempDir(t);
    // Fuel charges a fill about 20 bytes of code, a deadline's chunking about 100: each alone takes these past V8's limit.
    writeFileSync(join(cwd, 'fills.wasm'), denseFills(140_000));
    writeFileSync(join(cwd, 'more-fills.wasm'), denseFills(300_000));
    writeFileSync(join(cwd, 'loads.wasm'), denseLoads(340_000));
    writeFileSync(join(cwd, 'fuel.toml'), '[limits]\nfuel = 1_000_000\n');
    writeFileSync(join(cwd, 'deadline.toml'), '[limits]\ntimeout = "10s"\n');
    writeFileSync(join(cwd, 'both.toml'), '[limits]\nfuel = 1_000_000\ntimeout = "10s"\n');
    writeFileSync(join(cwd, 'harden.toml'), 'harden = ["null"]\n');
    writeFileSync(join(cwd, 'small.toml'), '[limits]\nmodule-size = "1KiB"\n');
    const fix = async (policy: string, module: string): Promise<string> => {
      const r = await runWarden(['check', '--json', '--policy', policy, module], { cwd });
      assert.equal(r.code, 1, r.stderr);
      const violations = JSON.parse(r.stdout).violations as Array<{ rule: string; fix: string }>;
      assert.deepEqual(violations.map((v) => v.rule), ['module-too-large']);
      return violations[0]!.fix;
    };
    const fuel = await fix('fuel.toml', 'more-fills.wasm');
    assert.match(fuel, /within limits\.module-size/);
    assert.match(fuel, /fuel metering/);
    assert.doesNotMatch(fuel, /raise limits\.module-size|deadline/);
    const deadline = await fix('deadline.toml', 'fills.wasm');
    assert.match(deadline, /deadline checkpoints/);
    assert.doesNotMatch(deadline, /raise limits\.module-size|fuel/);
    const both = await fix('both.toml', 'fills.wasm');
    assert.match(both, /fuel metering and the deadline checkpoints/);
    const hardened = await fix('harden.toml', 'loads.wasm');
    assert.match(hardened, /hardening guards/);
    assert.doesNotMatch(hardened, /raise limits\.module-size/);
    assert.equal(await fix('small.toml', fixture('c', 'hello.wasm')), 'raise limits.module-size');
    // warden run prints the same fix under the refusal.
    const run = await runWarden(['run', '--fuel', '1000000', 'more-fills.wasm'], { cwd });
    assert.equal(run.code, 125);
    assert.match(run.stderr, /module-too-large: .*fix: .*fuel metering/);
    assert.doesNotMatch(run.stderr, /raise limits\.module-size/);
  });
});
