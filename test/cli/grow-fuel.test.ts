// Under fuel, a grow bound to fail (past the memory's or the table's maximum)
// costs what the host did, nothing, not what the guest asked: it returns -1 and
// the guest goes on, for memory.grow and table.grow alike. A grow that can
// succeed is still paid for before it runs. The real CLI, a module assembled
// into a temp file, the run's report read back.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

/** Exit 0 when both grows answer -1, 3 or 4 when one did not; `grow` the table by N first when given. */
const growing = (tableGrow: number, memoryGrow: number) => `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1 16)
  (table 1 64 funcref)
  (func (export "_start")
    (if (i32.ne (table.grow (ref.null func) (i32.const ${tableGrow})) (i32.const -1)) (then (call $exit (i32.const 3))))
    (if (i32.ne (memory.grow (i32.const ${memoryGrow})) (i32.const -1)) (then (call $exit (i32.const 4))))
    (call $exit (i32.const 0))))`;

describe('fuel: a grow bound to fail costs nothing beyond its instruction', () => {
  it('table.grow and memory.grow past their maxima return -1 under a small budget', async (t) => {
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'fail.wasm'), await wat(growing(0x7fffffff, 0x7fffffff)));
    writeFileSync(join(cwd, 'just-over.wasm'), await wat(growing(64, 16)));
    for (const module of ['fail.wasm', 'just-over.wasm']) {
      const r = await runWarden(['run', '--fuel', '10000', '--report', 'r.json', module], { cwd });
      assert.equal(r.code, 0, `${module}: ${r.stderr}`);
      const report = JSON.parse(readFileSync(join(cwd, 'r.json'), 'utf8'));
      assert.equal(report.trap, null);
      assert.ok(report.fuelUsed < 100, `${module}: ${report.fuelUsed} units for two failed grows`);
    }
  });

  it('a grow that can succeed is still paid before it runs: a table grown by 8 costs its elements', async (t) => {
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'grows.wasm'), await wat(growing(8, 0x7fffffff)));
    const short = await runWarden(['run', '--fuel', '5000', '--report', 'r.json', 'grows.wasm'], { cwd });
    assert.equal(short.code, 134, short.stderr);
    assert.equal(JSON.parse(readFileSync(join(cwd, 'r.json'), 'utf8')).trap.kind, 'fuel');
    const enough = await runWarden(['run', '--fuel', '100000', '--report', 'r.json', 'grows.wasm'], { cwd });
    // The table grew (exit 3: table.grow did not answer -1), paid (8 added + 1 held) x 1024.
    assert.equal(enough.code, 3, enough.stderr);
    assert.ok(JSON.parse(readFileSync(join(cwd, 'r.json'), 'utf8')).fuelUsed >= 9 * 1024);
  });
});
