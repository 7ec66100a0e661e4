// Deadline lateness in every isolation mode: how long after its deadline a
// run's answer arrives, for a spinning guest, a memory-growing guest (with
// the warden:host checkpoint the deadline rewrite adds before memory.grow)
// and a guest blocked in a host call (reading a stdin that stays open and
// silent). Started by bench/sandbox.ts with stdin a pipe nobody writes.
//
//   node dist/bench/deadline.js [--runs 15 --deadline 100]

import { parsePolicy } from '../src/policy/load.js';
import { inlineExecutor, poolExecutor, type Executor } from '../src/sandbox/executors.js';
import { defineGrant } from '../src/wasi/grant.js';
import { wat } from '../test/helpers/wat.js';
import { argValue, median, percentile, table } from './stats.js';

const runs = argValue('runs', 15);
const deadlineMs = argValue('deadline', 100);
const sandboxDir = new URL('../src/sandbox/', import.meta.url);

const guests: Array<[string, string]> = [
  ['spinning', '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))'],
  ['memory.grow loop', `(module (import "warden:host" "checkpoint" (func $c)) (memory (export "memory") 1)
     (func (export "_start") (loop (call $c) (drop (memory.grow (i32.const 1))) (br 0))))`],
  ['blocked reading stdin', `(module (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
     (memory (export "memory") 1)
     (func (export "_start") (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 16))
       (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32)))))`],
];

function executorFor(isolation: 'none' | 'thread' | 'process'): Executor {
  if (isolation === 'none') return inlineExecutor();
  return poolExecutor(parsePolicy({ isolation }), {
    size: 1, spares: 1, maxQueued: 4, stackSizeMb: 4,
    workerEntry: new URL('worker-entry.js', sandboxDir),
    processEntry: new URL('process-entry.js', sandboxDir),
    codeDir: new URL('../..', sandboxDir).pathname,
  });
}

const rows: Array<Array<string>> = [];
for (const isolation of ['none', 'thread', 'process'] as const) {
  const executor = executorFor(isolation);
  await executor.ready();
  for (const [label, source] of guests) {
    const bytes = await wat(source);
    const module = { digest: label, bytes, compiled: await WebAssembly.compile(bytes), metered: false };
    const grant = defineGrant({ args: ['x'], stdin: { kind: 'fd', fd: 0 }, limits: { timeoutMs: deadlineMs } });
    const late: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const result = await executor.run(module, grant, null);
      if (result.trap?.kind !== 'deadline') throw new Error(`${isolation} ${label}: expected a deadline trap, got ${JSON.stringify(result.trap)}`);
      late.push(performance.now() - started - deadlineMs);
    }
    rows.push([isolation, label, median(late).toFixed(1), percentile(late, 99).toFixed(1)]);
  }
  await executor.close();
}
console.log(`deadline lateness, ${deadlineMs} ms deadline, ${runs} runs each (ms after the deadline, answer received)\n`);
console.log(table(['isolation', 'guest', 'median', 'p99'], rows));
process.exit(0);
