// The pool at a deadline: the isolate is stopped, but a result it posted in its
// last moments may still arrive while the pool waits for it to exit. That run
// may settle with the result; the slot must still be retired, never handed the
// dying isolate for the next run (which would then fail as "exited with code 1").
// A scripted isolate makes the race happen every time.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { IsolatePool } from '../../src/sandbox/isolate-pool.js';
import type { Isolate } from '../../src/sandbox/isolates.js';

interface Scripted extends Isolate { serial: number; killed: boolean }

/** An isolate that never answers on its own; when killed it posts the pending run's result, then exits 10 ms later with code 1. */
function scriptedIsolate(serial: number, answerEveryRun: boolean): Scripted {
  const emitter = new EventEmitter() as Scripted;
  let exit!: () => void;
  let pending: number | null = null;
  Object.assign(emitter, {
    kind: 'thread', ready: Promise.resolve(), started: true, serial, killed: false,
    exited: new Promise<void>((resolve) => { exit = resolve; }),
    send(message: { id: number }) {
      if (emitter.killed) return;
      if (answerEveryRun) setImmediate(() => emitter.emit('message', { id: message.id, result: { serial } }));
      else pending = message.id;
    },
    kill() {
      if (emitter.killed) return;
      emitter.killed = true;
      if (pending !== null) { const id = pending; setImmediate(() => emitter.emit('message', { id, result: { serial, late: true } })); }
      setTimeout(() => { emitter.emit('exit', 1); exit(); }, 10);
    },
    hold() {},
  });
  return emitter;
}

describe('isolate pool: a result that arrives after the deadline stopped the isolate', () => {
  it('settles that run, retires the slot and runs the next job on a fresh isolate', async () => {
    const made: Scripted[] = [];
    // The first isolate hangs until killed; every later one answers at once.
    const pool = new IsolatePool<unknown, { serial: number; late?: boolean }>({
      spawn: () => { const isolate = scriptedIsolate(made.length, made.length > 0); made.push(isolate); return isolate; },
      size: 1, maxQueued: 4, spares: 0,
    });
    const first = await pool.run({}, 20);
    assert.equal(first.kind, 'done');
    assert.deepEqual(first.kind === 'done' && first.result, { serial: 0, late: true });
    const next = await pool.run({}, 1000);
    assert.deepEqual(next, { kind: 'done', result: { serial: 1 } }, 'the next run went to a fresh isolate, not the stopped one');
    assert.equal(pool.replaced, 1);
    await pool.close();
  });
});
