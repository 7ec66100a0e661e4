// A module prepared afresh by a one-shot run (the CLI) is compiled with V8's
// lazy validation only when its rewrite changed nothing but the maxima of
// memories and tables: its bodies are then the original's, which V8
// validated whole before the rewrite. Any other change (a body, a type, a
// global, a memory's sharing or index type, a table's element type) is a
// "no", so V8 validates that rewrite whole. And the one-shot cold path still
// refuses what V8 refuses as shipped, storing the refusal, never an admission.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { parsePolicy } from '../../src/policy/load.js';
import { differsOnlyInLimits, planDiffersOnlyInLimits } from '../../src/sandbox/limits-only.js';
import { PreparedCache } from '../../src/sandbox/prepared-cache.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { planRewriteForRun, rewriteForRun } from '../../src/transform/index.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

const body = '(func (export "_start") (local i32) (loop (br_if 0 (i32.eqz (local.get 0)))) (drop (memory.grow (i32.const 1))))';
const rewrite = (bytes: Uint8Array, options: { fuel?: boolean; checkpoint?: boolean }) =>
  rewriteForRun(decodeModule(bytes), { memoryBytes: 4 * 65536, tableElements: 8, fuel: options.fuel ?? false, ...(options.fuel ? { fuelBudget: 1000 } : {}), checkpoint: options.checkpoint ?? false }).bytes;

describe('differsOnlyInLimits', () => {
  it('says yes for the default rewrite, which caps the memory and the table maxima', async () => {
    const original = await wat(`(module (memory 1) (table 2 funcref) ${body})`);
    const capped = rewrite(original, {});
    assert.notEqual(Buffer.compare(capped, original), 0, 'the rewrite changed the maxima');
    assert.equal(differsOnlyInLimits(original, capped), true);
    assert.equal(differsOnlyInLimits(original, original), true);
  });

  it('says no when the rewrite changed code: fuel metering, deadline checkpoints', async () => {
    const original = await wat(`(module (memory 1) ${body})`);
    assert.equal(differsOnlyInLimits(original, rewrite(original, { fuel: true })), false);
    assert.equal(differsOnlyInLimits(original, rewrite(original, { checkpoint: true })), false);
  });

  it('says no for any section but the limits changing: a body, a type, a global, an export', async () => {
    const original = await wat('(module (type (func (param i32))) (global i32 (i32.const 1)) (memory 1) (func (export "_start") (nop)))');
    for (const other of [
      '(module (type (func (param i64))) (global i32 (i32.const 1)) (memory 1) (func (export "_start") (nop)))',
      '(module (type (func (param i32))) (global i32 (i32.const 2)) (memory 1) (func (export "_start") (nop)))',
      '(module (type (func (param i32))) (global i32 (i32.const 1)) (memory 1) (func (export "_start") (unreachable)))',
      '(module (type (func (param i32))) (global i32 (i32.const 1)) (memory 1) (func (export "_stop") (nop)))',
    ]) assert.equal(differsOnlyInLimits(original, await wat(other)), false, other);
  });

  it('says no when a memory\'s sharing, index type, minimum or count changes, or a table\'s element type', async () => {
    const cases: Array<[string, string]> = [
      ['(module (memory 1 4))', '(module (memory 1 4 shared))'],
      ['(module (memory 1 4))', '(module (memory i64 1 4))'],
      ['(module (memory 1 4))', '(module (memory 2 4))'],
      ['(module (memory 1 4))', '(module (memory 1 4) (memory 1 4))'],
      ['(module (table 1 funcref))', '(module (table 1 externref))'],
    ];
    for (const [a, b] of cases) assert.equal(differsOnlyInLimits(await wat(a), await wat(b)), false, `${a} → ${b}`);
    // The maxima alone, added or changed: yes.
    assert.equal(differsOnlyInLimits(await wat('(module (memory 1) (table 1 funcref))'), await wat('(module (memory 1 9) (table 1 3 funcref))')), true);
    assert.equal(differsOnlyInLimits(await wat('(module (memory 1 4 shared))'), await wat('(module (memory 1 2 shared))')), true);
  });

  it('says no for bytes it cannot frame', async () => {
    const original = await wat('(module (memory 1))');
    assert.equal(differsOnlyInLimits(original, original.subarray(0, original.length - 1)), false);
  });
});

describe('planDiffersOnlyInLimits, asked of a rewrite before it is laid out', () => {
  const plan = (bytes: Uint8Array, options: { fuel?: boolean; checkpoint?: boolean; memoryBytes?: number }) =>
    planRewriteForRun(decodeModule(bytes), { memoryBytes: options.memoryBytes ?? 4 * 65536, tableElements: 8, fuel: options.fuel ?? false, ...(options.fuel ? { fuelBudget: 1000 } : {}), checkpoint: options.checkpoint ?? false }).plan;

  it('answers as differsOnlyInLimits does on the bytes laid out: maxima capped, fuel, checkpoints, a start moved', async () => {
    const modules = [
      `(module (memory 1) (table 2 funcref) ${body})`,
      `(module (memory 1 2) ${body})`,
      `(module (memory 1) (func $s) (start $s) ${body})`,
      `(module (memory 1) (@custom "note" "x") ${body})`,
    ];
    for (const source of modules) {
      const original = await wat(source);
      for (const options of [{}, { fuel: true }, { checkpoint: true }, { memoryBytes: 65536 }]) {
        const planned = plan(original, options);
        const laid = rewrite(original, options);
        if (!planned) {
          assert.equal(laid, original, `${source} ${JSON.stringify(options)}: nothing planned, nothing changed`);
          continue;
        }
        assert.equal(planDiffersOnlyInLimits(original, planned.sections), differsOnlyInLimits(original, laid), `${source} ${JSON.stringify(options)}`);
      }
    }
    assert.equal(planDiffersOnlyInLimits(await wat(modules[0]!), plan(await wat(modules[0]!), {})!.sections), true);
    assert.equal(planDiffersOnlyInLimits(await wat(modules[0]!), plan(await wat(modules[0]!), { fuel: true })!.sections), false);
  });

  it('says no when a kept range is not the original\'s section at its place, or a section is missing or of another id', async () => {
    const original = await wat(`(module (memory 1) (table 2 funcref) ${body})`);
    const planned = plan(original, {})!;
    assert.equal(planDiffersOnlyInLimits(original, planned.sections), true);
    const kept = planned.sections.findIndex((s) => s.kept);
    const shifted = planned.sections.map((s, i) => (i === kept && s.kept ? { ...s, end: s.end - 1 } : s));
    assert.equal(planDiffersOnlyInLimits(original, shifted), false);
    assert.equal(planDiffersOnlyInLimits(original, planned.sections.slice(1)), false);
    const renamed = planned.sections.map((s) => (!s.kept ? { ...s, id: s.id === 5 ? 4 : 5 } : s));
    assert.equal(planDiffersOnlyInLimits(original, renamed), false);
  });
});

describe('a one-shot run prepared afresh', () => {
  const policy = parsePolicy({ limits: { memory: '256KiB' }, isolation: 'none' });
  const oneShot = async (dir: string, bytes: Uint8Array) => {
    const sandbox = await createSandbox(policy, { oneShot: true, cache: new PreparedCache(), cacheDir: { dir } });
    try {
      return await sandbox.run(bytes);
    } finally {
      await sandbox.close();
    }
  };

  it('runs a module whose rewrite changed only the memory maximum, and its entry serves the next run', async (t) => {
    const dir = join(tempDir(t), 'prepared');
    const bytes = await wat('(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32))) (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const 7))))');
    assert.equal((await oneShot(dir, bytes)).exitCode, 7);
    assert.equal(readdirSync(dir).filter((n) => n.endsWith('.prep')).length, 1);
    assert.equal((await oneShot(dir, bytes)).exitCode, 7);
  });

  it('still refuses what V8 refuses as shipped, under rule invalid, and stores the refusal', async (t) => {
    const dir = join(tempDir(t), 'prepared');
    // global.set of a global the module lacks: well formed, so only validation refuses it.
    const bytes = await wat('(module (memory 1) (func (export "_start") (global.set 0 (i64.const 1))))');
    await assert.rejects(oneShot(dir, bytes), (error: Error) => /invalid/.test(error.message) && /global/.test(error.message));
    const entries = readdirSync(dir).filter((n) => n.endsWith('.prep'));
    assert.equal(entries.length, 1);
    const entry = readFileSync(join(dir, entries[0]!));
    assert.ok(entry.includes(Buffer.from('"verdict":"refused"')));
    assert.ok(!entry.includes(Buffer.from('"verdict":"admitted"')));
  });
});
