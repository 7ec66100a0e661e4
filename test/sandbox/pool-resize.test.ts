// A pool resized while it runs (a server reload's `server.workers`): new
// slots take queued runs at once; removed slots are idle ones first, and a
// busy one finishes its run before its isolate is stopped, so no run is cut
// short. Stand-in isolates answer only when the test says, so every step is
// exact.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { IsolatePool } from '../../src/sandbox/isolate-pool.js';
import type { Isolate } from '../../src/sandbox/isolates.js';

type StandIn = Isolate & { n: number; jobs: number[]; killed: boolean; answer(): void };

/** An isolate that holds each job until `answer()`, and exits when killed. */
function standIn(n: number): StandIn {
  const emitter = new EventEmitter();
  let exited: () => void = () => {};
  const gone = new Promise<void>((resolve) => { exited = resolve; });
  const self = Object.assign(emitter, {
    n,
    jobs: [] as number[],
    killed: false,
    kind: 'thread' as const,
    ready: Promise.resolve(),
    started: true,
    exited: gone,
    send: (message: unknown) => { self.jobs.push((message as { id: number }).id); },
    kill: () => {
      if (self.killed) return;
      self.killed = true;
      exited();
      setImmediate(() => emitter.emit('exit', 0));
    },
    hold: () => {},
    answer: () => emitter.emit('message', { id: self.jobs.shift(), result: n }),
  });
  return self;
}

function pool(size: number): { pool: IsolatePool<unknown, unknown>; made: StandIn[] } {
  const made: StandIn[] = [];
  const p = new IsolatePool<unknown, unknown>({ spawn: () => { const s = standIn(made.length); made.push(s); return s; }, size, maxQueued: 10, spares: 0 });
  return { pool: p, made };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('resizing an isolate pool', () => {
  it('growing hands a queued run to a new isolate at once', async () => {
    const { pool: p, made } = pool(1);
    const first = p.run('a', null);
    const second = p.run('b', null);
    await tick();
    assert.equal(made.length, 1);
    assert.equal(made[0]!.jobs.length, 1, 'the second run waits');
    p.resize(2);
    assert.equal(p.size, 2);
    await tick();
    assert.equal(made[1]!.jobs.length, 1, 'the new isolate took the waiting run');
    made[0]!.answer();
    made[1]!.answer();
    assert.deepEqual([await first, await second], [{ kind: 'done', result: 0 }, { kind: 'done', result: 1 }]);
    await p.close();
  });

  it('shrinking stops idle isolates first, and the pool then runs on the rest', async () => {
    const { pool: p, made } = pool(3);
    const busy = p.run('a', null);
    await tick();
    p.resize(1);
    assert.equal(p.size, 1);
    // The busy one stays; the two idle ones are stopped.
    assert.deepEqual(made.map((m) => m.killed), [false, true, true]);
    made[0]!.answer();
    assert.deepEqual(await busy, { kind: 'done', result: 0 });
    const next = p.run('b', null);
    await tick();
    assert.equal(made[0]!.jobs.length, 1, 'the remaining isolate takes the next run');
    made[0]!.answer();
    assert.deepEqual(await next, { kind: 'done', result: 0 });
    await p.close();
  });

  it('shrinking under busy isolates lets their runs finish, then stops them; a queued run waits for the slot that stays', async () => {
    const { pool: p, made } = pool(2);
    const runs = [p.run('a', null), p.run('b', null)];
    await tick();
    p.resize(1);
    assert.deepEqual(made.map((m) => m.killed), [false, false], 'no run is cut short');
    const queued = p.run('c', null);
    made[0]!.answer();
    assert.deepEqual(await runs[0], { kind: 'done', result: 0 });
    await tick();
    // Isolate 0's slot was the one removed: stopped once its run ended, without taking the queued run.
    assert.equal(made[0]!.killed, true);
    assert.equal(made[0]!.jobs.length, 0);
    made[1]!.answer();
    assert.deepEqual(await runs[1], { kind: 'done', result: 1 });
    await tick();
    assert.equal(made[1]!.jobs.length, 1, 'the slot that stays takes the queued run');
    made[1]!.answer();
    assert.deepEqual(await queued, { kind: 'done', result: 1 });
    assert.equal(p.size, 1);
    await p.close();
  });

  it('a removed slot whose run hit its deadline gets no new isolate', async () => {
    const { pool: p, made } = pool(2);
    const spinning = p.run('a', 20);
    const other = p.run('b', null);
    await tick();
    p.resize(1);
    const outcome = await spinning;
    assert.equal(outcome.kind, 'deadline');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(made.length, 2, 'no replacement was started for the removed slot');
    assert.equal(p.size, 1);
    made[1]!.answer();
    assert.deepEqual(await other, { kind: 'done', result: 1 });
    await p.close();
  });

  it('growing back takes a slot that is still finishing its run before making a new one', async () => {
    const { pool: p, made } = pool(2);
    const runs = [p.run('a', null), p.run('b', null)];
    await tick();
    p.resize(1);
    p.resize(2);
    assert.equal(p.size, 2);
    assert.equal(made.length, 2, 'the leaving slot was taken back, no isolate started');
    made[0]!.answer();
    made[1]!.answer();
    await Promise.all(runs);
    await tick();
    assert.deepEqual(made.map((m) => m.killed), [false, false]);
    await p.close();
  });

  it('refuses a size below 1', () => {
    const { pool: p } = pool(1);
    assert.throws(() => p.resize(0), RangeError);
    void p.close();
  });
});
