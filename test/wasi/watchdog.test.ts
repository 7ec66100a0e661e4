// The deadline watchdog for guest code on the caller's thread, both ways it is
// kept: the native helper (one kept thread per JavaScript thread) and node:vm's
// timeout. Each must end a spinning guest at its deadline, pass on what the
// guest's call threw, never terminate code after the call it guarded has
// returned, and leave the thread's later runs whole.

import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { after, describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { DeadlineReached } from '../../src/wasi/stdio.js';
import { nativeWatchdogAvailable, runWithWatchdog, useNativeWatchdog } from '../../src/wasi/watchdog.js';
import { loadNativeHelper } from '../../src/wasi/fs/native-helper.js';
import { wat } from '../helpers/wat.js';

const spin = '(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))';
const ways = [['native', true], ['node:vm', false]] as const;

/** Whether `error` is how a watchdog says the deadline ended the call (the run's record names both `deadline`). */
const isDeadline = (error: unknown): boolean => error instanceof DeadlineReached || (error as { code?: string })?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';

after(() => useNativeWatchdog(true));

for (const [way, nativeOn] of ways) {
  describe(`watchdog (${way})`, { skip: nativeOn && !nativeWatchdogAvailable() ? 'the native helper is not built' : false }, () => {
    it('ends a spinning guest at its deadline, and runs after it are whole', async () => {
      useNativeWatchdog(nativeOn);
      const spinning = new WebAssembly.Instance(new WebAssembly.Module(await wat(spin))).exports._start as () => void;
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        assert.throws(() => runWithWatchdog(spinning, 30), isDeadline);
        assert.ok(performance.now() - started >= 25, 'not before its deadline');
        // JavaScript on this thread runs on, untouched by the termination.
        let sum = 0;
        for (let k = 0; k < 100_000; k++) sum += k;
        assert.equal(sum, 4_999_950_000);
        let ran = false;
        runWithWatchdog(() => { ran = true; }, 1000);
        assert.ok(ran);
      }
    });

    it('passes on what the call threw, and guards a call started inside a guarded one', () => {
      useNativeWatchdog(nativeOn);
      // Twice: a thread's first guarded call goes through node:vm, later ones through the kept watchdog.
      for (let i = 0; i < 2; i++) assert.throws(() => runWithWatchdog(() => { throw new RangeError('from the call'); }, 1000), /from the call/);
      let inner: unknown = null;
      runWithWatchdog(() => {
        try {
          runWithWatchdog(() => { for (;;) { /* spin */ } }, 20);
        } catch (error) {
          inner = error;
        }
      }, 5000);
      assert.ok(isDeadline(inner), 'the inner deadline ended the inner call, and the outer call went on');
    });

    it('never terminates code after a call that ended as its deadline came', () => {
      useNativeWatchdog(nativeOn);
      // Calls as long as their deadlines: some end by themselves, some at the deadline; whichever,
      // the code after each runs to its end (a stray termination would end this test's thread).
      let ended = 0;
      let deadline = 0;
      for (let i = 0; i < (nativeOn ? 2000 : 200); i++) {
        try {
          runWithWatchdog(() => { const until = performance.now() + 1; while (performance.now() < until); }, 1);
          ended++;
        } catch (error) {
          assert.ok(isDeadline(error));
          deadline++;
        }
        let k = 0;
        while (k < 10_000) k++;
        assert.equal(k, 10_000);
      }
      assert.equal(ended + deadline, nativeOn ? 2000 : 200);
    });
  });
}

describe('watchdog: in a sandbox on the caller\'s thread', () => {
  it('a spinning guest ends with trap deadline by either watchdog, and the next run is whole', async () => {
    const sandbox = await createSandbox({ isolation: 'none', limits: { timeout: '100ms' } });
    const spinning = await wat(spin);
    const quick = await wat('(module (memory (export "memory") 1) (func (export "_start")))');
    try {
      for (const [, nativeOn] of ways) {
        useNativeWatchdog(nativeOn);
        for (let i = 0; i < 2; i++) {
          const killed = await sandbox.run(spinning);
          assert.equal(killed.trap?.kind, 'deadline');
          assert.ok(killed.limitsHit.includes('timeout'));
          assert.equal((await sandbox.run(quick)).exitCode, 0);
        }
      }
    } finally {
      useNativeWatchdog(true);
      await sandbox.close();
    }
  });
});

describe('watchdog: the native helper itself', { skip: nativeWatchdogAvailable() ? false : 'the native helper is not built' }, () => {
  const helper = loadNativeHelper<{ run(fn: unknown, ms: unknown): boolean }>('watchdog.node')!;

  it('refuses what is not a function and a time', () => {
    for (const [fn, ms] of [[null, 10], [() => {}, 'x'], [() => {}, Number.NaN], [() => {}, -1], [() => {}, 1e13]] as const) {
      assert.throws(() => helper.run(fn, ms), TypeError, `${String(fn)}, ${String(ms)}`);
    }
    assert.equal(helper.run(() => {}, 1000), true);
  });

  it('refuses a guarded call inside another on the same thread', () => {
    let refused: unknown = null;
    assert.equal(helper.run(() => { try { helper.run(() => {}, 10); } catch (error) { refused = error; } }, 1000), true);
    assert.match(String(refused), /already running a guarded call/);
  });

  it('a worker guarded by it stops when terminated, and one ends its own spin at the deadline', async () => {
    const source = (ms: number) => `
      const { parentPort } = require('node:worker_threads');
      const m = { exports: {} };
      process.dlopen(m, ${JSON.stringify(new URL('../../native/watchdog.node', import.meta.url).pathname)});
      parentPort.postMessage('armed');
      parentPort.postMessage(m.exports.run(() => { for (;;) {} }, ${ms}));`;
    const ending = new Worker(source(30), { eval: true });
    const answers: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      ending.on('message', (m) => { answers.push(m); if (answers.length === 2) resolve(); });
      ending.once('error', reject);
    });
    assert.deepEqual(answers, ['armed', false]);
    await ending.terminate();
    const stuck = new Worker(source(3_600_000), { eval: true });
    await new Promise((resolve) => stuck.once('message', resolve));
    const started = performance.now();
    await stuck.terminate();
    assert.ok(performance.now() - started < 5000, 'terminate() ended the guarded spin and the worker exited, its watchdog thread joined');
  });
});
