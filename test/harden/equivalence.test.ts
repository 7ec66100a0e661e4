// Hardened modules behave as the originals on normal inputs: the C fixtures
// and the WASI conformance programs, run plain and hardened with every pass
// that applies, give the same exit code, stdout and stderr. Hardening is
// idempotent and composes with fuel metering and memory limits.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { hardenModule, HARDEN_PASSES } from '../../src/transform/harden.js';
import { limitMemory, meterFuel, FUEL_EXPORT } from '../../src/transform/index.js';
import { defineGrant, type MountSpec } from '../../src/wasi/grant.js';
import { runWasi, type RunResult } from '../../src/wasi/run.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

interface Program { name: string; path: string; args: string[]; env?: Array<[string, string]>; stdin?: string; mount?: boolean }

const programs: Program[] = [
  { name: 'hello', path: fixture('c', 'hello.wasm'), args: [] },
  { name: 'basics', path: fixture('c', 'wasi', 'basics.wasm'), args: ['7'], env: [['READ_STDIN', '1'], ['A', 'b']], stdin: 'some input\n' },
  { name: 'fs_conformance', path: fixture('c', 'wasi', 'fs_conformance.wasm'), args: [], mount: true },
  { name: 'exhaust files', path: fixture('c', 'wasi', 'exhaust.wasm'), args: ['files'], mount: true },
  { name: 'sha256', path: fixture('c', 'bench', 'sha256.wasm'), args: ['1'] },
  { name: 'compress', path: fixture('c', 'bench', 'compress.wasm'), args: ['1'] },
  { name: 'transform_alloc', path: fixture('c', 'transform_alloc.wasm'), args: [] },
  { name: 'layout_data_first', path: fixture('c', 'layout_data_first.wasm'), args: ['hello'] },
  { name: 'layout_stack_first', path: fixture('c', 'layout_stack_first.wasm'), args: ['hello'] },
  { name: 'stack_protector', path: fixture('c', 'stack_protector.wasm'), args: ['hello'] },
  { name: 'wimg (normal image)', path: join(repoRoot, 'examples', 'vulnerable-decoder', 'wimg.wasm'), args: ['/in/normal.wimg'] },
  { name: 'wimg-bulk (normal image)', path: join(repoRoot, 'examples', 'vulnerable-decoder', 'wimg-bulk.wasm'), args: ['/in/normal.wimg'] },
];

function run(bytes: Uint8Array, p: Program, mountDir: string | null, options: { fuel?: bigint } = {}): RunResult {
  const mounts: MountSpec[] = [];
  if (mountDir) mounts.push({ host: mountDir, guest: '/sandbox', readOnly: false });
  if (p.name.startsWith('wimg')) mounts.push({ host: join(repoRoot, 'examples', 'vulnerable-decoder'), guest: '/in', readOnly: true });
  const grant = defineGrant({
    args: [p.name, ...p.args], env: p.env ?? [], mounts,
    clock: { kind: 'virtual', stepNs: 1000n, startNs: 0n }, random: { kind: 'seeded', seed: 7 },
    stdin: p.stdin ? { kind: 'buffer', data: new TextEncoder().encode(p.stdin) } : { kind: 'none' },
  });
  return runWasi(new WebAssembly.Module(bytes as BufferSource), grant, {
    beforeStart: (instance) => { if (options.fuel !== undefined) (instance.exports[FUEL_EXPORT] as WebAssembly.Global).value = options.fuel; },
  });
}

const outcome = (r: RunResult) => ({ exitCode: r.exitCode, trap: r.trap?.kind ?? null, stdout: Buffer.from(r.stdout).toString(), stderr: Buffer.from(r.stderr).toString() });

describe('hardened modules behave identically on normal inputs', () => {
  for (const p of programs) {
    it(p.name, (t) => {
      const bytes = new Uint8Array(readFileSync(p.path));
      const result = hardenModule(decodeModule(bytes), { passes: HARDEN_PASSES, lenient: true });
      assert.ok(result.passes.some((r) => r.status === 'applied'), JSON.stringify(result.passes));
      const dirs = p.mount ? [tempDir(t), tempDir(t)] : [null, null];
      for (const d of dirs) if (d) mkdirSync(join(d, 'x'), { recursive: true });
      const plain = outcome(run(bytes, p, dirs[0]!));
      const hardened = outcome(run(result.bytes, p, dirs[1]!));
      assert.equal(plain.trap, null, `${p.name} runs cleanly unhardened: ${plain.stderr}`);
      assert.deepEqual(hardened, plain);
    });
  }
});

describe('hardening composes', () => {
  const wimg = new Uint8Array(readFileSync(join(repoRoot, 'examples', 'vulnerable-decoder', 'wimg.wasm')));
  const p = programs.find((x) => x.name === 'wimg (normal image)')!;

  it('is idempotent: hardening a hardened module changes nothing, and each pass is recognised as present', () => {
    for (const q of programs) {
      const once = hardenModule(decodeModule(new Uint8Array(readFileSync(q.path))), { passes: HARDEN_PASSES, lenient: true });
      const twice = hardenModule(decodeModule(once.bytes), { passes: HARDEN_PASSES, lenient: true });
      assert.ok(Buffer.from(twice.bytes).equals(Buffer.from(once.bytes)), q.name);
      for (const r of once.passes.filter((x) => x.status === 'applied' && x.sites > 0)) {
        assert.equal(twice.passes.find((x) => x.pass === r.pass)?.status, 'present', `${q.name}: ${r.pass}`);
      }
    }
  });

  it('passes added one at a time give a module that carries all of them and runs the same', () => {
    let bytes = wimg;
    for (const pass of HARDEN_PASSES) bytes = new Uint8Array(hardenModule(decodeModule(bytes), { passes: [pass], lenient: true }).bytes);
    const again = hardenModule(decodeModule(bytes), { passes: HARDEN_PASSES, lenient: true });
    assert.ok(again.passes.filter((x) => x.pass !== 'bulk').every((x) => x.status === 'present'), JSON.stringify(again.passes));
    assert.deepEqual(outcome(run(bytes, p, null)), outcome(run(wimg, p, null)));
  });

  it('with fuel metering and a memory limit, after hardening, the output is the same and the guards still trap', () => {
    const hardened = hardenModule(decodeModule(wimg), { passes: HARDEN_PASSES, lenient: true }).bytes;
    const metered = meterFuel(decodeModule(limitMemory(decodeModule(hardened), 32)), { budget: 0 });
    const r = run(metered, p, null, { fuel: 100_000_000n });
    assert.deepEqual(outcome(r), outcome(run(wimg, p, null)));
    const attack = run(metered, { ...p, args: ['/in/rodata.wimg'] }, null, { fuel: 100_000_000n });
    assert.equal(attack.trap?.kind, 'unreachable', 'runWasi alone does not know the guards: a plain trap, not a silent overwrite');
  });
});
