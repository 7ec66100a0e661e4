// The vulnerable WIMG decoder (examples/vulnerable-decoder): each crafted input
// misbehaves silently in the plain module and is contained to the module's own
// memory; under its hardening pass it traps with its named kind. The leak is
// not stopped by any pass (none checks reads): it is shown to be contained.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { compileGrant } from '../../src/policy/compile-grant.js';
import { parsePolicy } from '../../src/policy/load.js';
import { execute, type SandboxResult } from '../../src/sandbox/execute.js';
import { prepare } from '../../src/sandbox/prepare.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { hardenModule, type HardenPassName } from '../../src/transform/harden.js';
import { runWarden } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const example = join(repoRoot, 'examples', 'vulnerable-decoder');
const plain = new Uint8Array(readFileSync(join(example, 'wimg.wasm')));
const bulkBuild = new Uint8Array(readFileSync(join(example, 'wimg-bulk.wasm')));
const LICENCE = 'WIMG-LICENCE-7f3a9c51e2d84b06';
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function harden(bytes: Uint8Array, passes: HardenPassName[]): Uint8Array {
  return hardenModule(decodeModule(bytes), { passes }).bytes;
}

/** One run of the decoder on examples/vulnerable-decoder/NAME, as `warden run --dir` does it, with a limits/harden policy. */
function decode(bytes: Uint8Array, input: string, policyInput: Record<string, unknown> = {}): SandboxResult {
  const policy = parsePolicy({ ...policyInput, mount: [{ host: example, guest: '/in'}] });
  const prepared = prepare(bytes, policy);
  const grant = compileGrant(policy, { args: ['wimg', `/in/${input}`] }, () => { throw new Error('no scratch'); });
  const module = new WebAssembly.Module(prepared.bytes as BufferSource);
  return execute({ module, grant, fuel: prepared.metered ? policy.limits.fuel : null, watchdog: true, guards: prepared.guards });
}

describe('the vulnerable decoder, unhardened', () => {
  it('decodes a normal image', () => {
    const r = decode(plain, 'normal.wimg');
    assert.equal(r.exitCode, 0, text(r.stderr));
    assert.match(text(r.stdout), /^WIMG 64x48\ncomment 1: a small gradient\nhistogram: .*\nchecksum: [0-9a-f]{8}\noverlay: 00000000\nimage is clean\n$/);
  });

  it('leaks its own licence key through the comment bug, and nothing of the host', () => {
    // A canary in this (the host) process: in its heap and in its environment, never granted.
    const canary = `HOST-CANARY-${process.pid}-${Date.now()}`;
    const held = Buffer.from(canary.repeat(64));
    process.env.WARDEN_TEST_CANARY = canary;
    try {
      const r = decode(plain, 'leak.wimg');
      assert.equal(r.exitCode, 0, 'the read goes unnoticed: the decoder exits normally');
      const out = text(r.stdout);
      const leaked = /comment 1: ([\s\S]*)\noverlay/.exec(out)![1]!;
      assert.equal(leaked.length, 160, 'the 160 bytes the file claimed');
      assert.ok(leaked.startsWith('hi!!'), 'the file\'s own 4 bytes first');
      assert.ok(leaked.includes(LICENCE), 'then the heap past the input: the decoder\'s licence key');
      assert.ok(!out.includes(canary) && !text(r.stderr).includes(canary), 'no host memory or environment');
      assert.ok(held.includes(canary), 'the canary is live in the host heap during the run');
    } finally {
      delete process.env.WARDEN_TEST_CANARY;
    }
  });

  it('the leaked bytes are a slice of the module\'s own linear memory', async () => {
    const { runWasi } = await import('../../src/wasi/run.js');
    const { defineGrant } = await import('../../src/wasi/grant.js');
    let memory: Uint8Array | null = null;
    const r = runWasi(new WebAssembly.Module(plain as BufferSource), defineGrant({ args: ['wimg', '/in/leak.wimg'], mounts: [{ host: example, guest: '/in', readOnly: true }] }), {
      afterRun: (instance) => { memory = new Uint8Array((instance!.exports.memory as WebAssembly.Memory).buffer).slice(); },
    });
    assert.equal(r.exitCode, 0);
    const leaked = Buffer.from(/comment 1: ([\s\S]*)\noverlay/.exec(text(r.stdout))![1]!, 'latin1');
    assert.ok(Buffer.from(memory!).indexOf(leaked) >= 0, 'every leaked byte, in order, is in the module\'s memory');
  });

  it('overwrites its own read-only verdict string through the tile bug, silently', () => {
    const r = decode(plain, 'rodata.wimg');
    assert.equal(r.exitCode, 0);
    assert.match(text(r.stdout), /image is PWNED\n$/);
  });

  it('writes into the null page through the tile bug, silently', () => {
    const r = decode(plain, 'null.wimg');
    assert.equal(r.exitCode, 0);
    assert.match(text(r.stdout), /image is clean\n$/);
  });

  it('overflows its stack into static data through nested groups, and no trap names the cause', () => {
    // Captured stdout is no terminal, so C stdio buffers it whole: the overflow overwrites stdio's own state in
    // static data, and the flush at exit runs out of bounds, far from the bug (on a terminal, line-buffered, the
    // run completes with the overlay buffer changed).
    const r = decode(plain, 'stack.wimg');
    assert.equal(r.trap?.kind, 'out-of-bounds', JSON.stringify(r.trap));
    assert.ok(r.trap!.stack?.some((frame) => frame.name === '__stdio_exit'), JSON.stringify(r.trap!.stack));
    assert.equal(text(r.stdout), 'WIMG 1x1\n', 'what was buffered after the header is lost');
  });
});

describe('the vulnerable decoder, hardened', () => {
  const cases: Array<[string, HardenPassName, string]> = [
    ['rodata.wimg', 'rodata', 'rodata-write'],
    ['null.wimg', 'null', 'null-guard'],
    ['stack.wimg', 'stack', 'stack-guard'],
  ];
  for (const [input, pass, kind] of cases) {
    it(`${input} traps as ${kind} under the ${pass} pass alone, and not under the others`, () => {
      const r = decode(harden(plain, [pass]), input);
      assert.equal(r.exitCode, null);
      assert.equal(r.trap?.kind, kind, r.trap?.message);
      const others = (['stack', 'null', 'rodata'] as HardenPassName[]).filter((p) => p !== pass);
      const without = decode(harden(plain, others), input);
      assert.notEqual(without.trap?.kind, kind);
    });
  }

  it('memcpy as memory.copy: the bulk pass catches the tile bug (null-guard, rodata-write); without it the copy goes through', () => {
    const hardened = harden(bulkBuild, ['bulk']);
    assert.equal(decode(hardened, 'rodata.wimg').trap?.kind, 'rodata-write');
    assert.equal(decode(hardened, 'null.wimg').trap?.kind, 'null-guard');
    assert.match(text(decode(harden(bulkBuild, ['null', 'rodata']), 'rodata.wimg').stdout), /PWNED/, 'memory.copy is not a store: null and rodata passes alone miss it');
  });

  it('the leak is not stopped by any pass (none checks reads): still only the module\'s own licence', () => {
    const r = decode(harden(plain, ['stack', 'null', 'rodata', 'bulk']), 'leak.wimg');
    assert.equal(r.exitCode, 0);
    assert.ok(text(r.stdout).includes(LICENCE));
  });

  it('admission hardening (policy harden) with fuel, a deadline (checkpoint renumbering) and a memory limit names the same kinds', () => {
    const policy = { harden: ['stack', 'null', 'rodata'], limits: { fuel: 50_000_000, timeout: '20s', memory: '16MiB' } };
    assert.equal(decode(plain, 'rodata.wimg', policy).trap?.kind, 'rodata-write');
    assert.equal(decode(plain, 'null.wimg', policy).trap?.kind, 'null-guard');
    assert.equal(decode(plain, 'stack.wimg', policy).trap?.kind, 'stack-guard');
    const normal = decode(plain, 'normal.wimg', policy);
    assert.equal(normal.exitCode, 0);
    assert.equal(text(normal.stdout), text(decode(plain, 'normal.wimg').stdout));
    assert.ok(normal.fuelUsed! > 0);
  });

  it('in worker threads and child processes, trap kinds survive the isolate boundary', async (t) => {
    for (const isolation of ['thread', 'process'] as const) {
      const sandbox = await createSandbox({ isolation, harden: ['rodata'], limits: { timeout: '20s' }, mount: [{ host: example, guest: '/in' }] });
      t.after(() => sandbox.close());
      const r = await sandbox.run(plain, { args: ['wimg', '/in/rodata.wimg'] });
      assert.equal(r.trap?.kind, 'rodata-write', `${isolation}: ${r.trap?.message}`);
      const ok = await sandbox.run(plain, { args: ['wimg', '/in/normal.wimg'] });
      assert.equal(ok.exitCode, 0, `${isolation}: the sandbox still runs the module after the trap`);
    }
  });

  it('warden run: exit 134 and the kind on stderr; the host is unaffected', async (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'wimg-hardened.wasm');
    const h = await runWarden(['harden', '--rodata-guard', join(example, 'wimg.wasm'), '-o', out]);
    assert.equal(h.code, 0, h.stderr);
    const r = await runWarden(['run', '--dir', `${example}::/in`, out, '/in/rodata.wimg']);
    assert.equal(r.code, 134);
    assert.match(r.stderr, /rodata-write/);
    const plainRun = await runWarden(['run', '--dir', `${example}::/in`, join(example, 'wimg.wasm'), '/in/rodata.wimg']);
    assert.equal(plainRun.code, 0);
    assert.match(plainRun.stdout, /PWNED/);
    // The leak through the CLI: the module's own key, never the environment of the warden process.
    const canary = 'HOST-CANARY-cli-5c2e9b';
    const leak = await runWarden(['run', '--dir', `${example}::/in`, out, '/in/leak.wimg'], { env: { WARDEN_CANARY: canary } });
    assert.equal(leak.code, 0);
    assert.ok(leak.stdout.includes(LICENCE));
    assert.ok(!leak.stdout.includes(canary) && !leak.stderr.includes(canary));
  });
});
