// An isolate that dies between runs (an uncaught error in a worker, a child
// that exits) is replaced at once: its 'error' is never thrown on the host's
// thread, and the next run goes to a live isolate instead of waiting for its
// deadline on a dead one. Stand-in isolates make the death exact.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { IsolatePool } from '../../src/sandbox/isolate-pool.js';
import type { Isolate } from '../../src/sandbox/isolates.js';

/** An isolate that answers every job with its own number, until it is made to die. */
function standIn(n: number): Isolate & { die(how: 'error' | 'exit'): void } {
  const emitter = new EventEmitter();
  let dead = false;
  let exited: () => void = () => {};
  const gone = new Promise<void>((resolve) => { exited = resolve; });
  const end = () => { if (!dead) { dead = true; exited(); emitter.emit('exit', 1); } };
  return Object.assign(emitter, {
    kind: 'thread' as const,
    ready: Promise.resolve(),
    started: true,
    exited: gone,
    send: (message: unknown) => {
      // A dead worker's port takes the message and nothing ever answers.
      if (!dead) setImmediate(() => emitter.emit('message', { id: (message as { id: number }).id, result: n }));
    },
    kill: end,
    hold: () => {},
    die: (how: 'error' | 'exit') => {
      if (how === 'error') emitter.emit('error', new Error('uncaught in the worker'));
      end();
    },
  });
}

describe('an isolate lost between runs', () => {
  for (const how of ['error', 'exit'] as const) {
    it(`is replaced when it ends with ${how === 'error' ? 'an uncaught error' : 'an exit'}, and the next run is served by its replacement`, async () => {
      const made: ReturnType<typeof standIn>[] = [];
      const pool = new IsolatePool<unknown, number>({ spawn: () => { const i = standIn(made.length); made.push(i); return i; }, size: 1, maxQueued: 4, spares: 1 });
      assert.deepEqual(await pool.run({}, 5000), { kind: 'done', result: 0 });
      made[0]!.die(how);
      // No deadline: on the dead isolate this run would never be answered.
      const outcome = await pool.run({}, null);
      assert.equal(outcome.kind, 'done');
      assert.notEqual((outcome as { result: number }).result, 0, 'served by a live isolate');
      assert.equal(pool.replaced, 1);
      await pool.close();
    });
  }

  it('a spare that dies is dropped, and the pool still replaces from a fresh one', async () => {
    const made: ReturnType<typeof standIn>[] = [];
    const pool = new IsolatePool<unknown, number>({ spawn: () => { const i = standIn(made.length); made.push(i); return i; }, size: 1, maxQueued: 4, spares: 1 });
    made[1]!.die('error');
    made[0]!.die('exit');
    const outcome = await pool.run({}, null);
    assert.deepEqual(outcome, { kind: 'done', result: 2 });
    await pool.close();
  });
});
