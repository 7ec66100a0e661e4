// A plugin session's call wire between two real threads: each side watches
// its cell for a bounded while before it sleeps. Whether the worker watches
// or sleeps when a call comes, the call is served, in order; the worker's
// watch ends and it sleeps; the host's watch for a reply ends too, leaving a
// slow call to the asynchronous wait.

import assert from 'node:assert/strict';
import { MessageChannel, Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWire, HostWire, REPLY_SPIN_US } from '../../src/sandbox/plugin-call-wire.js';

const wireModule = new URL('../../src/sandbox/plugin-call-wire.js', import.meta.url).href;

/**
 * A worker that answers each call with its input as output; `slow` first
 * busies itself for the milliseconds its input names. It watches for the
 * next call `spin` µs.
 */
function startWorker(spin: number): { wire: HostWire; stop: () => Promise<number> } {
  const sab = createWire();
  const { port1, port2 } = new MessageChannel();
  const source = `
    const { workerData } = require('node:worker_threads');
    import(workerData.wireModule).then(({ WorkerWire }) => {
      const wire = new WorkerWire(workerData.sab, workerData.port);
      wire.ready();
      for (;;) {
        const call = wire.next(workerData.spin);
        const input = call.input.slice();
        if (call.name === 'slow') { const until = performance.now() + Number(new TextDecoder().decode(input)); while (performance.now() < until); }
        wire.answer({
          exitCode: 0, trap: null, stdout: new Uint8Array(0), stderr: new Uint8Array(0), limitsHit: [], denied: [], deniedCount: 0,
          results: [0], fuelUsed: null, usage: { wallMs: 0, bytesWritten: 0, filesCreated: 0, outputBytes: 0, peakMemoryBytes: 0 },
          plugin: { output: input, error: null, logs: [], logsDropped: 0, memoryBytes: 0 }, instanceReused: true,
        });
      }
    });`;
  const worker = new Worker(source, { eval: true, workerData: { sab, port: port2, wireModule, spin }, transferList: [port2] });
  return { wire: new HostWire(sab, port1), stop: async () => { port1.close(); return worker.terminate(); } };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/**
 * One call, answered however it is: within the host's watch or through the
 * asynchronous wait (only that, with `watch` false: the host then never
 * gives up on a watch, so the worker's own watch keeps its full bound).
 */
async function call(wire: HostWire, name: string, input: string, watch = true): Promise<string> {
  const seq = wire.send(name, true, new TextEncoder().encode(input));
  if (!watch || !wire.answeredWithin(seq, REPLY_SPIN_US)) assert.equal(await wire.answered(seq, () => false), true);
  const reply = wire.reply();
  assert.equal(reply.kind, 'plain');
  return text((reply as { output: Uint8Array }).output);
}

/** Waits (no bound but the test's) until the worker is in `state`. */
async function until(wire: HostWire, state: 'watching' | 'asleep'): Promise<void> {
  while (wire.workerState !== state) await sleep(1);
}

describe('plugin call wire: bounded watches on both sides', () => {
  it('calls made while the worker watches and while it sleeps are all served, in order', async () => {
    // A watch long enough that "the worker watches" holds when the test looks.
    const { wire, stop } = startWorker(30_000_000);
    try {
      assert.equal(await wire.started(() => false), true);
      const seen: string[] = [];
      for (let i = 0; i < 20; i++) {
        if (i > 0) await until(wire, 'watching');
        seen.push(await call(wire, i % 2 ? 'f' : 'g', `call ${i}`, false));
      }
      assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => `call ${i}`));
    } finally {
      await stop();
    }
    // No watch at all: every call finds the worker asleep and wakes it.
    const asleep = startWorker(0);
    try {
      assert.equal(await asleep.wire.started(() => false), true);
      for (let i = 0; i < 5; i++) {
        await until(asleep.wire, 'asleep');
        const sleeps = asleep.wire.workerSleeps;
        assert.equal(await call(asleep.wire, 'f', `woken ${i}`), `woken ${i}`);
        assert.ok(sleeps >= i + 1, 'the call was made while the worker slept');
      }
    } finally {
      await asleep.stop();
    }
  });

  it('the worker\'s watch for the next call ends: an idle worker sleeps, and still serves the next call', async () => {
    const { wire, stop } = startWorker(100);
    try {
      assert.equal(await wire.started(() => false), true);
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 10; i++) assert.equal(await call(wire, 'f', `${round}.${i}`), `${round}.${i}`);
        // Not a timing bound: a watch that never ended would keep the worker out of sleep and this test waiting.
        await until(wire, 'asleep');
      }
    } finally {
      await stop();
    }
  });

  it('the host\'s watch for a reply ends: a call still running is left to the asynchronous wait', async () => {
    const { wire, stop } = startWorker(100);
    try {
      assert.equal(await wire.started(() => false), true);
      const seq = wire.send('slow', true, new TextEncoder().encode('300'));
      // A watch that lasted until the reply would return true here, 300 ms later.
      assert.equal(wire.answeredWithin(seq, REPLY_SPIN_US), false);
      assert.equal(await wire.answered(seq, () => false), true);
      assert.equal(text((wire.reply() as { output: Uint8Array }).output), '300');
      assert.equal(await call(wire, 'f', 'after'), 'after');
    } finally {
      await stop();
    }
  });
});

describe('plugin call wire: call numbers past 2^31', () => {
  // A session numbers its calls for its whole life, in 32-bit cells: past 2^31 a call's number no
  // longer equalled the one its reply cell carried, and the call was never seen answered (the
  // session's deadline timer ended it, or nothing did).
  it('calls numbered across the 32-bit wrap are each answered, in order', { timeout: 30_000 }, async () => {
    const { wire, stop } = startWorker(0);
    try {
      (wire as unknown as { seq: number }).seq = 2 ** 31 - 3;
      const outputs: string[] = [];
      for (let i = 0; i < 6; i++) {
        const seq = wire.send('echo', true, new TextEncoder().encode(`call ${i}`));
        const limit = performance.now() + 5000;
        const timer = setTimeout(() => wire.wake(), 5000);
        const answered = wire.answeredWithin(seq, REPLY_SPIN_US) || await wire.answered(seq, () => performance.now() >= limit);
        clearTimeout(timer);
        assert.ok(answered, `call ${i} (number ${seq}) was not seen answered`);
        outputs.push(text((wire.reply() as { output: Uint8Array }).output));
      }
      assert.deepEqual(outputs, [0, 1, 2, 3, 4, 5].map((i) => `call ${i}`));
    } finally {
      await stop();
    }
  });
});
