// One budget for all tables (limits.table-elements), and caps on how many
// tables and memories a module declares. The attack: hundreds of funcref
// tables, each grown as far as it goes, in a module of a few kilobytes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeModule } from '../../src/binary/decode.js';
import { parsePolicy } from '../../src/policy/load.js';
import { admit } from '../../src/sandbox/admission.js';
import { tableLimitEdits } from '../../src/transform/limits.js';
import { tableGrowBomb, moduleOf, section, vector, body, FUNC_TYPE_VOID, name, u32 } from '../helpers/module-builder.js';
import { tempDir } from '../helpers/tmp.js';

const GiB = 1024 ** 3;
const child = fileURLToPath(new URL('./table-budget-child.js', import.meta.url));

function runChild(t: TestContext, bytes: Uint8Array, policy: object): { admitted: boolean; grown?: number; rules?: string[]; maxRssBytes: number } {
  const dir = tempDir(t);
  const path = join(dir, 'attack.wasm');
  writeFileSync(path, bytes);
  // A heap cap well above what the budget allows: without the budget the attack dies here instead of taking the machine.
  const result = spawnSync(process.execPath, ['--max-old-space-size=1536', child, path, JSON.stringify(policy)], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.status, 0, `child failed (signal ${result.signal}): ${result.stderr.slice(-400)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!);
}

const rules = (bytes: Uint8Array, policy: object = {}) => admit(decodeModule(bytes), parsePolicy(policy), () => 'sha256:x').violations.map((v) => v.rule);

describe('one budget for all tables', () => {
  const bomb = tableGrowBomb(600, 1000);

  it('refuses 600 tables under the default policy (limits.tables = 16)', () => {
    assert.ok(bomb.length < 32 * 1024, `${bomb.length} bytes`);
    assert.deepEqual(rules(bomb), ['too-many-tables']);
    assert.deepEqual(rules(tableGrowBomb(16, 1000)), []);
  });

  it('admitted with the count raised, 600 tables grown until they fail hold at most the budget, far below 1 GiB RSS', (t) => {
    // At V8's own limit (the default was once this): the budget still holds, and the RSS with it.
    const report = runChild(t, bomb, { limits: { tables: 600, 'table-elements': 10_000_000 } });
    assert.equal(report.admitted, true);
    assert.ok(report.grown! <= 10_000_000, `${report.grown} elements grown`);
    assert.ok(report.grown! >= 9_000_000, `the budget is usable: ${report.grown}`);
    assert.ok(report.maxRssBytes < GiB / 2, `peak RSS ${(report.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
  });

  it('the reported shape, each of 600 tables grown by 1,000,000 at once: every grow fails', (t) => {
    const report = runChild(t, tableGrowBomb(600, 1_000_000), { limits: { tables: 600 } });
    assert.equal(report.grown, 0, 'no table may take a million elements: the budget is shared');
    assert.ok(report.maxRssBytes < GiB / 4, `peak RSS ${(report.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
  });

  it('a smaller budget holds exactly, across every table', (t) => {
    const report = runChild(t, tableGrowBomb(16, 1), { limits: { 'table-elements': 5000 } });
    assert.equal(report.grown, 5000);
  });

  it('refuses tables whose initial sizes together exceed the budget', () => {
    const tables = (mins: number[]) => moduleOf(
      section(1, vector([FUNC_TYPE_VOID])), section(3, vector([[0]])),
      section(4, vector(mins.map((m) => [0x70, 0x00, ...u32(m)]))),
      section(7, vector([[...name('_start'), 0, 0]])), section(10, vector([body([])])),
    );
    assert.deepEqual(rules(tables([600, 600]), { limits: { 'table-elements': 1000 } }), ['table-too-large']);
    assert.deepEqual(rules(tables([500, 500]), { limits: { 'table-elements': 1000 } }), []);
  });

  it('splits the headroom evenly; a table needing less leaves the rest to the others', () => {
    const module = decodeModule(moduleOf(section(4, vector([[0x70, 0x01, 10, 20], [0x70, 0x00, 0], [0x70, 0x00, 100]]))));
    const edits = tableLimitEdits(module, 1000);
    // Headroom 890: table 0 needs 10 (its own maximum fits: untouched), the other two share 880.
    assert.equal(edits.has(0), false);
    assert.equal(edits.get(1)!.limits.max, 440);
    assert.equal(edits.get(2)!.limits.max, 540);
    const sum = module.tables.reduce((n, t, i) => n + (edits.get(i)?.limits.max ?? t.limits.max!), 0);
    assert.ok(sum <= 1000);
  });

  it('caps memories at limits.memories, and more than one needs multi-memory', () => {
    const twoMemories = moduleOf(section(1, vector([FUNC_TYPE_VOID])), section(3, vector([[0]])), section(5, vector([[0, 1], [0, 1]])),
      section(7, vector([[...name('_start'), 0, 0]])), section(10, vector([body([])])));
    assert.deepEqual(rules(twoMemories).sort(), ['feature-not-allowed', 'too-many-memories']);
    assert.deepEqual(rules(twoMemories, { limits: { memories: 2 } }), ['feature-not-allowed']);
    assert.deepEqual(rules(twoMemories, { limits: { memories: 2 }, features: { 'multi-memory': true } }), []);
  });
});
