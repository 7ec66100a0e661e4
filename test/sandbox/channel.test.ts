// The host-isolate channel's synchronous calls, as plugins' host functions
// will use them: a worker that never returns to its event loop asks the host,
// waits on the reply cell, and gets the answer; a call the host does not
// answer ends at the run's deadline instead of waiting forever.

import assert from 'node:assert/strict';
import { MessageChannel, Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { createChannelMemory, HostChannel, type ChannelMessage } from '../../src/sandbox/channel.js';

const channelModule = new URL('../../src/sandbox/channel.js', import.meta.url).href;

/** A worker that makes one call over the channel, synchronously, with a deadline `ms` from now. */
function callFromWorker(op: string, ms: number): { host: HostChannel; result: Promise<unknown>; worker: Worker } {
  const sab = createChannelMemory();
  const { port1, port2 } = new MessageChannel();
  const host = new HostChannel(sab, { stdin: { kind: 'none' }, stdout: { kind: 'discard' }, stderr: { kind: 'discard' } });
  port1.on('message', (m: ChannelMessage) => host.onMessage(m));
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.channelModule).then(({ IsolateChannel }) => {
      const channel = new IsolateChannel(workerData.sab, workerData.port);
      const deadlineAt = performance.now() + workerData.ms;
      const grant = { stdin: { kind: 'none' }, stdout: { kind: 'discard' }, stderr: { kind: 'discard' } };
      channel.begin(grant, () => { if (performance.now() >= deadlineAt) throw new Error('deadline'); }, () => deadlineAt - performance.now());
      try {
        const { status, bytes } = channel.call(workerData.op, 7);
        parentPort.postMessage({ status, text: Buffer.from(bytes).toString() });
      } catch (error) {
        parentPort.postMessage({ error: error.message });
      }
    });`;
  const worker = new Worker(source, { eval: true, workerData: { sab, port: port2, channelModule, op, ms }, transferList: [port2] });
  const result = new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  void result.finally(() => { port1.close(); void worker.terminate(); });
  return { host, result, worker };
}

describe('channel: synchronous calls into the host', () => {
  it('a busy worker gets the host\'s asynchronous answer', async () => {
    const { host, result } = callFromWorker('echo', 10_000);
    host.handle('echo', async (arg) => {
      await new Promise((r) => setTimeout(r, 20));
      return new TextEncoder().encode(`answer ${arg}`);
    });
    assert.deepEqual(await result, { status: 0, text: 'answer 7' });
    host.end();
  });

  it('an unanswered call ends at the deadline; an unknown op is an error reply', async () => {
    const silent = callFromWorker('never', 200);
    silent.host.handle('never', () => new Promise(() => {}));
    assert.deepEqual(await silent.result, { error: 'deadline' });
    silent.host.end();
    const unknown = callFromWorker('nothing-by-this-name', 10_000);
    assert.deepEqual(await unknown.result, { status: 2, text: '' });
    unknown.host.end();
  });
});

describe('channel: call numbers past 2^31', () => {
  // The isolate numbers its calls for its whole life (a pool worker's, a session's), and the cells
  // that carry the numbers are 32-bit: once past 2^31 a call's number no longer equalled the one
  // read back from its reply cell, and each later call waited for its deadline (for ever without one).
  it('calls numbered across the 32-bit wrap (and past 0) are each answered', { timeout: 30_000 }, async () => {
    const sab = createChannelMemory();
    const { port1, port2 } = new MessageChannel();
    const host = new HostChannel(sab, { stdin: { kind: 'none' }, stdout: { kind: 'discard' }, stderr: { kind: 'discard' } });
    let served = 0;
    host.handle('host:0', (_arg, data) => { served++; return new Uint8Array([data![0]! + 1]); });
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.channelModule).then(({ IsolateChannel }) => {
        const channel = new IsolateChannel(workerData.sab, workerData.port);
        const deadlineAt = performance.now() + 10000;
        channel.arm(() => { if (performance.now() >= deadlineAt) throw new Error('deadline'); }, () => deadlineAt - performance.now());
        const replies = [];
        try {
          for (const start of [2 ** 31 - 3, -3]) {
            // Numbered from here on, as after that many calls.
            channel.seq = start;
            for (let i = 0; i < 5; i++) {
              const { status, bytes } = channel.callWith(0, new Uint8Array([i]), {});
              replies.push([status, bytes[0]]);
            }
          }
          parentPort.postMessage({ replies });
        } catch (error) {
          parentPort.postMessage({ error: error.message, replies });
        }
      });`;
    const worker = new Worker(source, { eval: true, workerData: { sab, port: port2, channelModule }, transferList: [port2] });
    try {
      const result = await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
      const ok = [[0, 1], [0, 2], [0, 3], [0, 4], [0, 5]];
      assert.deepEqual(result, { replies: [...ok, ...ok] });
      assert.equal(served, 10);
    } finally {
      host.end();
      port1.close();
      await worker.terminate();
    }
  });
});
