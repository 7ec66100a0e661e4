// The bounded watch a thread keeps on a shared cell before it sleeps, how its
// budget adapts, and the job bell an isolate waits on with it (two real threads).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel, Worker } from 'node:worker_threads';
import { createChannelMemory, ringJobBell } from '../../src/sandbox/channel.js';
import { watch, WatchBudget } from '../../src/sandbox/watch-cell.js';

describe('watch budget', () => {
  it('keeps the full bound while watches pay, halves it down to none while they do not, and probes one wait in 32', () => {
    const budget = new WatchBudget();
    assert.equal(budget.next(50), 50);
    budget.settle(true, 50);
    assert.equal(budget.next(50), 50);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) { budget.settle(false, 50); seen.push(budget.next(50)); }
    assert.deepEqual(seen.slice(0, 4), [25, 12.5, 6.25, 3.125]);
    assert.equal(seen[5], 0);
    const probes: number[] = [];
    for (let i = 0; i < 64; i++) { const b = budget.next(50); if (b > 0) probes.push(i); budget.settle(false, 50); }
    assert.equal(probes.length, 2, 'one full watch in 32 waits');
    budget.settle(true, 50);
    assert.equal(budget.next(50), 50, 'a watch that paid restores the bound');
  });

  it('a bound of 0 never watches', () => {
    const budget = new WatchBudget();
    for (let i = 0; i < 100; i++) { assert.equal(budget.next(0), 0); budget.settle(true, 0); }
  });

  it('watch returns as soon as the cell changes, and gives up at its bound', () => {
    const i32 = new Int32Array(new SharedArrayBuffer(8));
    assert.equal(watch(i32, 0, 0, 200), 0);
    Atomics.store(i32, 0, 3);
    assert.equal(watch(i32, 0, 0, 1e9), 3);
  });
});

describe('job bell', () => {
  it('hands every job to the isolate in order, whether it is watching or asleep', async (t) => {
    const sab = createChannelMemory();
    const jobs = new MessageChannel();
    const answers = new MessageChannel();
    const channel = new URL('../../src/sandbox/channel.js', import.meta.url).href;
    const worker = new Worker(`
      const { workerData } = require('node:worker_threads');
      import(${JSON.stringify(channel)}).then(({ JobBell }) => {
        const bell = new JobBell(workerData.sab, workerData.jobs, 50);
        for (;;) workerData.answers.postMessage(bell.next());
      });`, { eval: true, workerData: { sab, jobs: jobs.port2, answers: answers.port2 }, transferList: [jobs.port2, answers.port2] });
    t.after(() => worker.terminate());
    const got: number[] = [];
    const arrived = (n: number) => new Promise<void>((resolve) => {
      const check = () => (got.length >= n ? resolve() : setTimeout(check, 1));
      check();
    });
    answers.port1.on('message', (m: number) => got.push(m));
    const send = (n: number) => { jobs.port1.postMessage(n); ringJobBell(sab); };
    send(1);
    await arrived(1);
    // Back to back: the isolate is watching.
    for (let n = 2; n <= 20; n++) send(n);
    await arrived(20);
    // Far apart: the isolate has gone to sleep between them.
    for (let n = 21; n <= 25; n++) { await new Promise((r) => setTimeout(r, 15)); send(n); }
    await arrived(25);
    answers.port1.close();
    assert.deepEqual(got, Array.from({ length: 25 }, (_, i) => i + 1));
  });
});

describe('a lone run\'s result taken by the host\'s watch', () => {
  it('keeps each run\'s output whole and in order, short outputs and ones that cross as messages alike', async (t) => {
    const { createSandbox } = await import('../../src/sandbox/sandbox.js');
    const { wat } = await import('../helpers/wat.js');
    // One write to stdout, sized by the digit n in its argument: 10 bytes for 0, else n x 100,000 (which cross as
    // messages before the result); every byte is 'a' + n, so a byte of another run shows.
    const guest = await wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
      (memory (export "memory") 8)
      (func (export "_start") (local $n i32)
        (drop (call $args (i32.const 0) (i32.const 64)))
        (local.set $n (i32.sub (i32.load8_u (i32.load (i32.const 4))) (i32.const 48)))
        (memory.fill (i32.const 1024) (i32.add (i32.const 97) (local.get $n)) (i32.const 400000))
        (i32.store (i32.const 16) (i32.const 1024))
        (i32.store (i32.const 20) (select (i32.mul (local.get $n) (i32.const 100000)) (i32.const 10) (local.get $n)))
        (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))`);
    const sandbox = await createSandbox({ isolation: 'thread', limits: { timeout: '5s', concurrency: 1 } });
    t.after(() => sandbox.close());
    for (let i = 0; i < 40; i++) {
      const n = i % 4;
      const result = await sandbox.run(guest, { args: ['g', String(n)] });
      const expected = n === 0 ? 10 : n * 100000;
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdout.length, expected, `run ${i}`);
      assert.ok(result.stdout.every((b) => b === 97 + n), `run ${i}: another run's bytes`);
    }
  });
});
