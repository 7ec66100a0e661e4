// Attacks on metering and deadlines through the rewriter, each reproduced from
// a failure of the sandbox as it stood: invalid modules whose out-of-range
// indices came to name the fuel counter, bulk operations that did unbounded
// work for one unit of fuel, start functions that broke metering, and
// memory.grow loops that outlived their deadline.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { checkIndices } from '../../src/binary/indices.js';
import { compileGrant } from '../../src/policy/compile-grant.js';
import { parsePolicy } from '../../src/policy/load.js';
import { execute, type SandboxResult } from '../../src/sandbox/execute.js';
import { AdmissionError, prepare } from '../../src/sandbox/prepare.js';
import { CHECKPOINT_MODULE, CHECKPOINT_NAME, FUEL_EXPORT, prepareModule } from '../../src/transform/index.js';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

const GiB = 1024 * 1024 * 1024;

/** Admission, rewriting and one run, as `warden run` does them, on this thread. */
function runUnder(bytes: Uint8Array, limits: Record<string, unknown>): SandboxResult {
  const policy = parsePolicy({ limits });
  const prepared = prepare(bytes, policy);
  const grant = compileGrant(policy, {}, () => { throw new Error('no scratch'); });
  return execute({ module: new WebAssembly.Module(prepared.bytes as BufferSource), grant, fuel: prepared.metered ? policy.limits.fuel : null, watchdog: true });
}

function refusedAs(rule: string, run: () => unknown): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof AdmissionError, String(error));
    assert.deepEqual(error.violations.map((v) => v.rule), [rule], JSON.stringify(error.violations));
    return true;
  });
}

// Built without validation, as `wat2wasm --no-check` would: the module names global 0 but has none.
const stealFuel = `(module
  (func (export "_start") (loop (global.set 0 (i64.const 0x7fffffffffffffff)) (br 0))))`;
const readFuel = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func (export "_start") (call $exit (i32.wrap_i64 (global.get 0)))))`;

describe('invalid modules are refused before rewriting', () => {
  it('a global.set of a global the module lacks (it would refill the fuel counter) is refused, not run', async () => {
    const bytes = await wat(stealFuel);
    assert.equal(WebAssembly.validate(bytes as BufferSource), false);
    refusedAs('invalid', () => runUnder(bytes, { fuel: 1000 }));
  });

  it('a global.get of a global the module lacks (it would read the counter) is refused', async () => {
    const bytes = await wat(readFuel);
    refusedAs('invalid', () => runUnder(bytes, { fuel: 1000 }));
  });

  it('a call to a function index past the module\'s own (the rewriter appends functions there) is refused', async () => {
    const bytes = await wat(`(module (memory 1) (func (export "_start") (call 1)) (start 0))`);
    refusedAs('invalid', () => runUnder(bytes, { fuel: 1000, timeout: '1s' }));
  });

  it('warden run --fuel 1000 exits 125 naming the rule, and warden check refuses it', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'steal.wasm');
    writeFileSync(path, await wat(stealFuel));
    writeFileSync(join(dir, 'policy.toml'), '[limits]\nfuel = 1000\n');
    const run = await runWarden(['run', '--fuel', '1000', path], { timeoutMs: 20_000 });
    assert.equal(run.code, 125, run.stderr);
    assert.match(run.stderr, /invalid .*global index/i);
    const check = await runWarden(['check', '--policy', join(dir, 'policy.toml'), path], { timeoutMs: 20_000 });
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.match(check.stdout + check.stderr, /invalid/);
  });

  it('our own index check refuses an out-of-range index in every space, as V8 does', async () => {
    const bodies: Record<string, string> = {
      global: '(drop (global.get 1))',
      function: '(call 5)',
      local: '(drop (local.get 3))',
      table: '(drop (table.size 1))',
      memory: '(drop (memory.size 1))',
      'data segment': '(data.drop 2)',
      'element segment': '(elem.drop 2)',
      type: '(call_indirect (type 9) (i32.const 0))',
      label: '(br 3)',
    };
    for (const [space, body] of Object.entries(bodies)) {
      const bytes = await wat(`(module (type (func)) (memory 1) (table 1 funcref) (global i32 (i32.const 0))
        (data "x") (elem func 0) (func (param i32) (local i32) ${body}))`);
      assert.equal(WebAssembly.validate(bytes as BufferSource), false, `${space}: V8 agrees it is invalid`);
      assert.throws(() => checkIndices(decodeModule(bytes)), new RegExp(`${space} index`), space);
    }
    const valid = await wat(`(module (type (func)) (memory 1) (table 1 funcref) (global i32 (i32.const 0))
      (data "x") (elem func 0) (func (param i32) (local i32) (drop (global.get 0)) (drop (local.get 1)) (call_indirect (type 0) (i32.const 0))))`);
    assert.equal(WebAssembly.validate(valid as BufferSource), true);
    checkIndices(decodeModule(valid));
  });

  it('a guest may not import from warden:host, where the rewriter\'s own functions come from', async () => {
    const bytes = await wat(`(module (import "${CHECKPOINT_MODULE}" "${CHECKPOINT_NAME}" (func)) (memory 1) (func (export "_start")))`);
    assert.ok(bytes.length > 0);
    refusedAs('import-reserved', () => runUnder(bytes, {}));
  });
});

/** Instantiates prepared bytes with a checkpoint import of the test's own. */
function instantiate(bytes: Uint8Array, checkpoint: () => void = () => {}, extra: WebAssembly.Imports = {}) {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { ...extra, [CHECKPOINT_MODULE]: { [CHECKPOINT_NAME]: checkpoint } }).exports;
}
const fuelLeft = (exports: WebAssembly.Exports) => (exports[FUEL_EXPORT] as WebAssembly.Global).value as bigint;

describe('bulk operations pay fuel for their size, before they run', () => {
  const bulk = `(module
    (memory (export "memory") 1 16384)
    (table $t 16 funcref)
    (table $u 16 funcref)
    (data $d "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
    (elem $e func $f $f $f $f $f $f $f $f)
    (func $f)
    (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 1) (local.get 0)))
    (func (export "copy") (param i32) (memory.copy (i32.const 0) (i32.const 64) (local.get 0)))
    (func (export "init") (param i32) (memory.init $d (i32.const 0) (i32.const 0) (local.get 0)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "tfill") (param i32) (table.fill $t (i32.const 0) (ref.null func) (local.get 0)))
    (func (export "tcopy") (param i32) (table.copy $t $u (i32.const 0) (i32.const 0) (local.get 0)))
    (func (export "tinit") (param i32) (table.init $t $e (i32.const 0) (i32.const 0) (local.get 0)))
    (func (export "tgrow") (param i32) (result i32) (table.grow $u (ref.null func) (local.get 0)))
  )`;

  /** Fuel one call of `name(n)` uses, less what the same call with 0 uses: the size's own charge. */
  async function sizeCharge(name: string, n: number, options: { memoryBytes?: number } = {}): Promise<bigint> {
    const bytes = prepareModule(decodeModule(await wat(bulk)), { memoryBytes: options.memoryBytes ?? GiB, tableElements: 1000, fuel: true, fuelBudget: 10n ** 12n });
    const run = (k: number) => {
      const exports = instantiate(bytes);
      const before = fuelLeft(exports);
      (exports[name] as (n: number) => void)(k);
      return before - fuelLeft(exports);
    };
    return run(n) - run(0);
  }

  it('memory.fill, memory.copy and memory.init cost one unit per 8 bytes', async () => {
    assert.equal(await sizeCharge('fill', 65536), 8192n);
    assert.equal(await sizeCharge('copy', 6400), 800n);
    assert.equal(await sizeCharge('init', 128), 16n);
  });

  it('memory.grow costs 8,192 units a page; one bound to fail costs nothing for its size', async () => {
    assert.equal(await sizeCharge('grow', 3), 3n * 8192n);
    // The memory's maximum is 16 pages after the limit: a request for 60,000 pages fails, having done nothing.
    assert.equal(await sizeCharge('grow', 60000, { memoryBytes: 16 * 65536 }), 0n);
  });

  // At one unit an element, 10^8 units that a spinning guest spends in 60 ms lasted 50-75 s of
  // 10-million-element funcref table.fills: V8 takes hundreds of nanoseconds per element.
  it('table.fill, table.copy and table.init cost 1,024 units per element; table.grow also pays for the elements there', async () => {
    assert.equal(await sizeCharge('tfill', 10), 10n * 1024n);
    assert.equal(await sizeCharge('tcopy', 7), 7n * 1024n);
    assert.equal(await sizeCharge('tinit', 8), 8n * 1024n);
    assert.equal(await sizeCharge('tgrow', 5), 5n * 1024n, 'growing a table of 16 by 5 costs 5 elements more than growing it by 0 (both pay for the 16)');
    // The table's maximum is 1,000 elements after the limit: a grow past it fails and, like memory.grow's, costs nothing for its size.
    assert.equal(await sizeCharge('tgrow', 0x7fffffff), -16n * 1024n, 'a grow bound to fail is charged less than a grow by 0, which pays for the 16 held');
  });

  it('a fill the budget cannot pay for traps as fuel before it writes a byte', async () => {
    const bytes = prepareModule(decodeModule(await wat(bulk)), { memoryBytes: GiB, tableElements: 1000, fuel: true, fuelBudget: 500n });
    const exports = instantiate(bytes);
    assert.throws(() => (exports.fill as (n: number) => void)(65536), WebAssembly.RuntimeError);
    assert.ok(fuelLeft(exports) < 0n, 'the counter says fuel');
    assert.ok(new Uint8Array((exports.memory as WebAssembly.Memory).buffer).every((b) => b === 0), 'nothing was written');
  });

  it('a loop of 1 GiB memory.fill under --fuel 2000 ends at once with trap kind fuel', async () => {
    const bytes = await wat(`(module (memory (export "memory") 16384)
      (func (export "_start") (loop (memory.fill (i32.const 0) (i32.const 1) (i32.const ${GiB})) (br 0))))`);
    const result = runUnder(bytes, { fuel: 2000, memory: '1GiB' });
    assert.equal(result.trap?.kind, 'fuel');
    assert.ok(result.fuelUsed! <= 2000, `used ${result.fuelUsed}`);
  });
});

describe('start functions run metered', () => {
  const startSetsGlobal = `(module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (global $g (mut i32) (i32.const 0))
    (func $init (global.set $g (i32.const 5)))
    (start $init)
    (func (export "_start") (call $exit (global.get $g))))`;

  it('a start function that sets a global behaves the same with and without fuel, apart from the fuel', async () => {
    const bytes = await wat(startSetsGlobal);
    const plain = runUnder(bytes, {});
    const metered = runUnder(bytes, { fuel: 1_000_000 });
    assert.equal(plain.exitCode, 5);
    assert.equal(metered.exitCode, 5, JSON.stringify(metered.trap));
    assert.equal(metered.trap, null);
    assert.ok(metered.fuelUsed! > 0 && metered.fuelUsed! < 100, `used ${metered.fuelUsed}`);
  });

  it('a fuel trap inside a start function is labelled fuel, not unreachable', async () => {
    const bytes = await wat(`(module (memory (export "memory") 1)
      (func $spin (loop (br 0))) (start $spin) (func (export "_start")))`);
    const result = runUnder(bytes, { fuel: 10_000 });
    assert.equal(result.trap?.kind, 'fuel', JSON.stringify(result.trap));
    assert.deepEqual(result.limitsHit, ['fuel']);
    assert.equal(result.fuelUsed, 10_000);
  });

  it('the guest\'s own unreachable in a start function stays unreachable', async () => {
    const bytes = await wat(`(module (memory (export "memory") 1) (func $boom unreachable) (start $boom) (func (export "_start")))`);
    assert.equal(runUnder(bytes, { fuel: 10_000 }).trap?.kind, 'unreachable');
  });

  // A module without `_start` (a library called by --invoke, a plugin) kept its start section: the
  // start function ran inside instantiation, where a fuel trap left no counter to read, and the
  // budget written before the entry refilled whatever the start function had spent.
  const invokeUnder = (bytes: Uint8Array, limits: Record<string, unknown>): SandboxResult => {
    const policy = parsePolicy({ limits });
    const prepared = prepare(bytes, policy, [], 'run');
    const grant = compileGrant(policy, {}, () => { throw new Error('no scratch'); });
    return execute({
      module: new WebAssembly.Module(prepared.bytes as BufferSource), grant, fuel: prepared.metered ? policy.limits.fuel : null, watchdog: true,
      entry: { kind: 'invoke', name: 'run', args: [], results: ['i32'] },
    });
  };
  const startCounts = `(module (memory (export "memory") 1) (global $n (mut i32) (i32.const 0))
    (func $count (loop (global.set $n (i32.add (global.get $n) (i32.const 1))) (br_if 0 (i32.lt_u (global.get $n) (i32.const 1000)))))
    (start $count)
    (func (export "run") (result i32) (global.get $n)))`;

  it('without _start, a fuel trap inside the start function is labelled fuel', async () => {
    const result = invokeUnder(await wat(startCounts), { fuel: 500 });
    assert.equal(result.trap?.kind, 'fuel', JSON.stringify(result.trap));
    assert.deepEqual(result.limitsHit, ['fuel']);
    assert.equal(result.fuelUsed, 500);
  });

  it('without _start, the start function runs once, before the entry, and its fuel counts', async () => {
    const result = invokeUnder(await wat(startCounts), { fuel: 1_000_000 });
    assert.equal(result.trap, null, JSON.stringify(result.trap));
    assert.deepEqual(result.results, [1000]);
    assert.ok(result.fuelUsed! > 1000, `used ${result.fuelUsed}`);
  });

  it('the counter starts at the budget in the bytes, before any instance exists', async () => {
    const bytes = prepare(await wat(startSetsGlobal), parsePolicy({ limits: { fuel: 12345 } })).bytes;
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
      wasi_snapshot_preview1: { proc_exit: () => {} },
    }).exports;
    assert.equal(fuelLeft(exports), 12345n);
  });
});

describe('deadline checkpoints', () => {
  const growLoop = `(module (memory (export "memory") 1)
    (func (export "_start") (loop (drop (memory.grow (i32.const 1))) (br 0))))`;

  it('every memory.grow and bulk operation calls the checkpoint first, so the host can stop it before it runs', async () => {
    const bytes = prepareModule(decodeModule(await wat(growLoop)), { memoryBytes: 64 * 65536, tableElements: 1000, fuel: false, checkpoint: true });
    assert.deepEqual(WebAssembly.Module.imports(new WebAssembly.Module(bytes as BufferSource)), [{ module: CHECKPOINT_MODULE, name: CHECKPOINT_NAME, kind: 'function' }]);
    let calls = 0;
    const exports = instantiate(bytes, () => { if (++calls > 10) throw new Error('deadline'); });
    assert.throws(() => (exports._start as () => void)(), /deadline/);
    assert.equal(calls, 11);
    assert.equal((exports.memory as WebAssembly.Memory).buffer.byteLength, 11 * 65536, 'ten grows ran; the eleventh was stopped before it ran');
  });

  it('a loop growing memory and filling all of it ends at its deadline (trap kind deadline)', { timeout: 60_000 }, async () => {
    const bytes = await wat(`(module (memory (export "memory") 1)
      (func (export "_start") (local $pages i32)
        (loop
          (drop (memory.grow (i32.const 1)))
          (memory.fill (i32.const 0) (i32.const 7) (i32.mul (memory.size) (i32.const 65536)))
          (br 0))))`);
    const result = runUnder(bytes, { timeout: '300ms', memory: '1GiB' });
    assert.equal(result.trap?.kind, 'deadline', JSON.stringify(result.trap));
    assert.deepEqual(result.limitsHit, ['timeout']);
  });

  it('warden run --timeout 300ms on a memory.grow loop exits 134 with a deadline report', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'grow.wasm');
    writeFileSync(path, await wat(growLoop));
    const report = join(dir, 'report.json');
    const r = await runWarden(['run', '--timeout', '300ms', '--report', report, path], { timeoutMs: 50_000 });
    assert.equal(r.code, 134, r.stderr);
    assert.match(r.stderr, /deadline/);
    const record = JSON.parse(readFileSync(report, 'utf8'));
    assert.equal(record.trap.kind, 'deadline');
  });

  it('fills, copies and inits call the checkpoint from 64 KiB (or 8,192 elements) up, before they run', async () => {
    const bytes = prepareModule(decodeModule(await wat(`(module (memory (export "memory") 4) (table 10000 funcref)
      (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 9) (local.get 0)))
      (func (export "tfill") (param i32) (table.fill 0 (i32.const 0) (ref.null func) (local.get 0))))`)),
    { memoryBytes: GiB, tableElements: 100_000, fuel: false, checkpoint: true });
    let calls = 0;
    const exports = instantiate(bytes, () => { calls++; throw new Error('deadline'); });
    (exports.fill as (n: number) => void)(65535);
    (exports.tfill as (n: number) => void)(8191);
    assert.equal(calls, 0, 'small operations run without a host call');
    assert.throws(() => (exports.fill as (n: number) => void)(65536), /deadline/);
    assert.equal(new Uint8Array((exports.memory as WebAssembly.Memory).buffer)[65535], 0, 'the large fill was stopped before it wrote');
    assert.throws(() => (exports.tfill as (n: number) => void)(8192), /deadline/);
    assert.equal(calls, 2);
  });

  it('no checkpoint is added without a deadline, so the module needs no extra import', async () => {
    const prepared = prepare(await wat(growLoop), parsePolicy({ limits: { fuel: 100 } }));
    assert.deepEqual(WebAssembly.Module.imports(new WebAssembly.Module(prepared.bytes as BufferSource)), []);
  });
});

describe('a rewrite V8 could not compile is refused before it is built', () => {
  /** `_start` calling one function of `units` memory.fills of 9 bytes each (local.get 0 three times, memory.fill). */
  const denseFills = (units: number): Uint8Array => {
    const leb = (n: number, out: number[]): void => {
      do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n);
    };
    const code: number[] = [0];
    for (let i = 0; i < units; i++) code.push(0x20, 0, 0x20, 0, 0x20, 0, 0xfc, 11, 0);
    code.push(0x0b);
    const fills: number[] = [];
    leb(code.length, fills);
    const start = [0, 0x41, 0, 0x10, 0, 0x0b]; // no locals; call 0 with 0
    const codeSection: number[] = [2];
    const sections: number[][] = [
      [1, ...sized([2, 0x60, 1, 0x7f, 0, 0x60, 0, 0])],
      [3, ...sized([2, 0, 1])],
      [5, ...sized([1, 0, 1])],
      [7, ...sized([1, 6, ...Buffer.from('_start'), 0, 1])],
    ];
    function sized(b: number[]): number[] { const out: number[] = []; leb(b.length, out); return out.concat(b); }
    const codePayload = codeSection.concat(fills, code, [start.length], start);
    const header: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const codeHeader: number[] = [10];
    leb(codePayload.length, codeHeader);
    return Uint8Array.from(header.concat(...sections, codeHeader, codePayload));
  };

  it('a body of memory.fills that fuel and checkpoints would take past V8\'s function size is refused as module-too-large', () => {
    // 600 KB as shipped; rewritten it was 8.4 MB, built in full and only then refused by V8's compile
    // (a 15 MB module of such bodies cost 210 MB of output, 700 MB of memory and 6 s).
    const bytes = denseFills(66_667);
    assert.equal(WebAssembly.validate(bytes as BufferSource), true);
    refusedAs('module-too-large', () => runUnder(bytes, { fuel: 1_000_000, timeout: '10s' }));
    // Without the rewrites that multiply it, the same module runs.
    assert.equal(runUnder(bytes, {}).exitCode, 0);
  });
});
