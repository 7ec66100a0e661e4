// A lone run's result handed over in the channel's shared memory instead of
// posted: what crosses that way must be exactly what a posted result carries,
// anything else must still be posted, and no result may be lost between the
// host's offer and its withdrawal, whichever side moves first.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe, it } from 'node:test';
import {
  createChannelMemory, IsolateChannel, offerResultHandoff, resultsPosted, withdrawResultHandoff, type ResultMessage,
} from '../../src/sandbox/channel.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { IsolatePool } from '../../src/sandbox/isolate-pool.js';
import type { Isolate } from '../../src/sandbox/isolates.js';
import { fixture } from '../helpers/paths.js';

type Record = Extract<ResultMessage['result'], { ok: true }>['value'];

function plainRecord(): Record {
  return {
    exitCode: 3, trap: null, stdout: new Uint8Array(0), stderr: new Uint8Array(0), limitsHit: [], denied: [], deniedCount: 0,
    usage: { wallMs: 1.25, bytesWritten: 4096, filesCreated: 2, outputBytes: 23, peakMemoryBytes: 131072 }, fuelUsed: 12345,
  };
}

/** Both ends of one channel: the isolate's, and the host's port the posted results arrive on. */
function ends() {
  const sab = createChannelMemory();
  const { port1, port2 } = new MessageChannel();
  const isolate = new IsolateChannel(sab, port2);
  const posted = (): unknown => receiveMessageOnPort(port1)?.message;
  return { sab, isolate, posted, close: () => { port1.close(); port2.close(); } };
}

describe('result handoff', () => {
  it('a plain result offered for is handed over whole, and nothing is posted', () => {
    const { sab, isolate, posted, close } = ends();
    for (const fuelUsed of [12345, null]) {
      const message: ResultMessage = { id: 41, result: { ok: true, value: { ...plainRecord(), fuelUsed } } };
      const before = resultsPosted(sab);
      offerResultHandoff(sab);
      isolate.postResult(message);
      // Counted like a posted result: the host's watch sees it the same way.
      assert.equal(resultsPosted(sab), before + 1);
      assert.deepEqual(withdrawResultHandoff(sab), message);
      assert.equal(posted(), undefined);
      // Taken once: the cells do not answer a second withdrawal.
      assert.equal(withdrawResultHandoff(sab), null);
    }
    close();
  });

  it('anything but a plain result is posted, offer or not', () => {
    const { sab, isolate, posted, close } = ends();
    const variants: Array<[string, ResultMessage]> = [
      ['a trap', { id: 1, result: { ok: true, value: { ...plainRecord(), exitCode: null, trap: { kind: 'deadline', message: 'the run reached its deadline' } } } }],
      ['a denial', { id: 2, result: { ok: true, value: { ...plainRecord(), denied: [{ op: 'path_open', path: '/etc', reason: 'no grant' }] as never, deniedCount: 1 } } }],
      ['a limit hit', { id: 3, result: { ok: true, value: { ...plainRecord(), limitsHit: ['output'] } } }],
      ['captured output in the record', { id: 4, result: { ok: true, value: { ...plainRecord(), stdout: new Uint8Array([104, 105]) } } }],
      ['results of an invoke', { id: 5, result: { ok: true, value: { ...plainRecord(), results: [7] } as Record } }],
      ['host-call counts', { id: 6, result: { ok: true, value: { ...plainRecord(), hostCalls: { 'env.log': 2 } } as Record } }],
      ['a usage field the cells do not carry', { id: 8, result: { ok: true, value: { ...plainRecord(), usage: { ...plainRecord().usage, cpuMs: 3 } as Record['usage'] } } }],
      ['a refusal', { id: 7, result: { ok: false, refused: true, message: 'cannot link the module' } }],
    ];
    for (const [what, message] of variants) {
      offerResultHandoff(sab);
      isolate.postResult(message);
      assert.equal(withdrawResultHandoff(sab), null, what);
      assert.deepEqual(posted(), message, what);
    }
    close();
  });

  it('a result after the offer is withdrawn is posted, never left in the cells', () => {
    const { sab, isolate, posted, close } = ends();
    const message: ResultMessage = { id: 9, result: { ok: true, value: plainRecord() } };
    // Never offered (a shared pool's run, or a run that needs the host's thread).
    isolate.postResult(message);
    assert.deepEqual(posted(), message);
    // Offered, and the watch ran out before the isolate finished.
    offerResultHandoff(sab);
    assert.equal(withdrawResultHandoff(sab), null);
    isolate.postResult(message);
    assert.deepEqual(posted(), message);
    assert.equal(withdrawResultHandoff(sab), null);
    close();
  });

  it('a lone run watched for by the pool takes a plain result from the cells; anything else, or a run not watched for, by message', async () => {
    // A stand-in isolate that answers each job at once on this thread, through a real channel: what the
    // pool's dispatch does with the offer is then exact, whatever the machine's timing.
    function answering(answer: (id: number) => ResultMessage) {
      const sab = createChannelMemory();
      const { port1, port2 } = new MessageChannel();
      const isolate = new IsolateChannel(sab, port2);
      let posts = 0;
      const post = port2.postMessage.bind(port2);
      port2.postMessage = (message: unknown) => { posts++; post(message); };
      const emitter = new EventEmitter();
      port1.on('message', (message) => emitter.emit('message', message));
      const self = Object.assign(emitter, {
        kind: 'thread' as const, ready: Promise.resolve(), started: true, exited: new Promise<void>(() => {}),
        channel: { sab, port: port1 },
        send: (message: unknown) => isolate.postResult(answer((message as { id: number }).id)),
        kill: () => { port1.close(); },
        hold: () => {},
      });
      return { self, posts: () => posts };
    }
    const plain = (id: number): ResultMessage => ({ id, result: { ok: true, value: plainRecord() } });
    const trapped = (id: number): ResultMessage => ({ id, result: { ok: true, value: { ...plainRecord(), exitCode: null, trap: { kind: 'unreachable', message: 'x' } } } });
    for (const [what, answer, watched, posted] of [
      ['plain, watched for', plain, true, 0],
      ['a trap, watched for', trapped, true, 1],
      ['plain, not watched for', plain, false, 1],
    ] as const) {
      const stand = answering(answer);
      const pool = new IsolatePool<unknown, unknown>({ spawn: () => stand.self as unknown as Isolate, size: 1, maxQueued: 1, spares: 0, resultWatchUs: 1000 });
      try {
        const outcome = await pool.run({}, null, { mayWatchResult: watched });
        assert.equal(outcome.kind, 'done', what);
        assert.deepEqual((outcome as { result: unknown }).result, answer(0).result, what);
        assert.equal(stand.posts(), posted, what);
      } finally {
        await pool.close();
      }
    }
  });

  it('runs of a sandbox in thread isolation give the same records whichever way their results cross', async () => {
    const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));
    const sandbox = await createSandbox({ isolation: 'thread' });
    try {
      const shapes = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const r = await sandbox.run(hello, { args: ['hello'] });
        assert.equal(new TextDecoder().decode(r.stdout), 'hello from wasm-warden\n');
        const { usage, stdout: _o, ...rest } = r;
        assert.ok(usage.wallMs >= 0 && usage.peakMemoryBytes > 0 && usage.outputBytes === 23, JSON.stringify(usage));
        shapes.add(JSON.stringify({ ...rest, usage: Object.keys(usage) }));
      }
      assert.deepEqual([...shapes].map((s) => JSON.parse(s)), [{
        exitCode: 0, trap: null, stderr: {}, limitsHit: [], denied: [], deniedCount: 0, fuelUsed: null, isolation: 'thread',
        usage: ['wallMs', 'bytesWritten', 'filesCreated', 'outputBytes', 'peakMemoryBytes'],
      }]);
    } finally {
      await sandbox.close();
    }
  });
});
