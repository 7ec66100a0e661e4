// Closures (host functions on the embedder's thread) called from a child
// process: the same closure behaves the same in thread and process isolation
// (typed arguments and results, the checked memory view, throwing, async).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import type { GuestMemoryView, HostFunctionGrant } from '../../src/sandbox/host-functions.js';
import { wat } from '../helpers/wat.js';

// env.mix(i32, i64, f64) -> (i64, f64) and env.poke(ptr) -> i32, each passed straight through exports.
const module = await wat(`(module
  (import "env" "mix" (func $mix (param i32 i64 f64) (result i64 f64)))
  (import "env" "poke" (func $poke (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\\01\\02\\03\\04\\05\\06\\07\\08")
  (func (export "mix") (param i32 i64 f64) (result i64 f64) (call $mix (local.get 0) (local.get 1) (local.get 2)))
  (func (export "poke") (param i32) (result i32) (call $poke (local.get 0)))
  ;; Calls poke, then reads what it left at 32 and 40 itself.
  (func (export "poked") (param i32) (result i32 i64)
    (drop (call $poke (local.get 0)))
    (i32.load (i32.const 32))
    (i64.load (i32.const 40))))`);

/** poke(ptr): reads what is at ptr, writes derived values at 32 and 40, returns the memory size in pages. */
function poke(memory: GuestMemoryView, ptr: number): number {
  const u32 = memory.readU32(ptr);
  const u64 = memory.readU64(ptr);
  memory.writeU32(32, u32 + 1);
  memory.writeU64(40, u64 * 2n);
  return memory.size / 65536;
}

function grants(seen: unknown[]): HostFunctionGrant[] {
  return [
    { module: 'env', name: 'mix', params: ['i32', 'i64', 'f64'], results: ['i64', 'f64'], fn: (_m, a, b, c) => {
      seen.push([a, b, c]);
      return [BigInt(a as number) + (b as bigint), (c as number) * 2];
    } },
    { module: 'env', name: 'poke', params: ['i32'], results: ['i32'], fn: (m, ptr) => poke(m, ptr as number) },
  ];
}

describe('closures from a process isolate behave as from a thread isolate', () => {
  it('i32, i64 and f64 arguments and results cross unchanged, and the calls are counted', async () => {
    const outcomes: Record<string, unknown> = {};
    for (const isolation of ['thread', 'process'] as const) {
      const seen: unknown[] = [];
      const sandbox = await createSandbox({ isolation, limits: { timeout: '5s' } }, { hostFunctions: grants(seen) });
      try {
        const a = await sandbox.invoke(module, 'mix', -5, '-9223372036854775803', 1.5);
        const b = await sandbox.invoke(module, 'mix', 2147483647, '9223372036854775807', -0.1);
        assert.equal(a.exitCode, 0, JSON.stringify(a.trap));
        assert.deepEqual(a.hostCalls, { 'env.mix': 1, 'env.poke': 0 });
        outcomes[isolation] = { seen, a: a.results, b: b.results };
      } finally {
        await sandbox.close();
      }
    }
    assert.deepEqual(outcomes.process, {
      seen: [[-5, -9223372036854775803n, 1.5], [2147483647, 9223372036854775807n, -0.1]],
      // i64 results wrap as the guest's i64 does.
      a: [-9223372036854775808n, 3],
      b: [-9223372034707292162n, -0.2],
    });
    assert.deepEqual(outcomes.process, outcomes.thread);
  });

  it('the closure reads and writes guest memory through the view: u32, u64, size', async () => {
    for (const isolation of ['thread', 'process'] as const) {
      const sandbox = await createSandbox({ isolation, limits: { timeout: '5s' } }, { hostFunctions: grants([]) });
      try {
        const r = await sandbox.invoke(module, 'poke', 16);
        assert.equal(r.exitCode, 0, JSON.stringify(r.trap));
        assert.deepEqual(r.results, [1], `${isolation}: one page`);
        // The guest reads back what the closure wrote: u32 + 1 and u64 * 2 of the bytes 01..08 at 16.
        const poked = await sandbox.invoke(module, 'poked', 16);
        assert.deepEqual(poked.results, [0x04030202, 0x100e0c0a08060402n], isolation);
        const oob = await sandbox.invoke(module, 'poke', 65533);
        assert.equal(oob.trap?.kind, 'host-function', `${isolation}: a read past the end traps`);
        assert.match(oob.trap!.message, /outside guest memory/);
      } finally {
        await sandbox.close();
      }
    }
  });

  it('a closure that throws or rejects with a value that cannot be made a string traps the guest; the embedder carries on', async () => {
    // An object without a prototype has no toString: making the trap's message of it threw on the
    // embedder's thread, outside any handler, and the embedder's process died (thread and process isolation).
    const thrower = await wat(`(module
      (import "env" "f" (func $f (param i32) (result i32)))
      (func (export "go") (param i32) (result i32) (call $f (local.get 0))))`);
    const kinds: Record<string, unknown> = {};
    for (const isolation of ['none', 'thread', 'process'] as const) {
      const sandbox = await createSandbox({ isolation, limits: { timeout: '5s' } }, {
        hostFunctions: [{ module: 'env', name: 'f', params: ['i32'], results: ['i32'], fn: (_m, how) => {
          const odd = Object.create(null) as object;
          if (how === 1) throw odd;
          if (how === 2) throw { get message(): string { throw new Error('no message'); } };
          return Promise.reject(odd);
        } }],
      });
      try {
        const ways = isolation === 'none' ? [1, 2] : [1, 2, 3];
        for (const how of ways) {
          const r = await sandbox.invoke(thrower, 'go', how);
          kinds[`${isolation} ${how}`] = r.trap?.kind;
        }
      } finally {
        await sandbox.close();
      }
    }
    assert.deepEqual(kinds, {
      'none 1': 'host-function', 'none 2': 'host-function',
      'thread 1': 'host-function', 'thread 2': 'host-function', 'thread 3': 'host-function',
      'process 1': 'host-function', 'process 2': 'host-function', 'process 3': 'host-function',
    });
  });

  it('readU32 and writeU32 of the last four bytes of memory work as in isolation none (they read 8 bytes before)', async () => {
    const last = await wat(`(module
      (import "env" "last" (func $last (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "go") (result i32 i32)
        (i32.store (i32.const 65532) (i32.const 0x01020304))
        (call $last (i32.const 65532))
        (i32.load (i32.const 65532))))`);
    const results: Record<string, unknown> = {};
    for (const isolation of ['none', 'thread', 'process'] as const) {
      const sandbox = await createSandbox({ isolation, limits: { timeout: '5s' } }, {
        hostFunctions: [{ module: 'env', name: 'last', params: ['i32'], results: ['i32'], fn: (m, ptr) => {
          const value = m.readU32(ptr as number);
          m.writeU32(ptr as number, value + 1);
          return value;
        } }],
      });
      try {
        const r = await sandbox.invoke(last, 'go');
        results[isolation] = r.trap ?? r.results;
      } finally {
        await sandbox.close();
      }
    }
    assert.deepEqual(results, { none: [0x01020304, 0x01020305], thread: [0x01020304, 0x01020305], process: [0x01020304, 0x01020305] });
  });

  it('a throwing closure traps host-function, an async one answers after awaiting, and the child keeps serving', async () => {
    let fail = true;
    const sandbox = await createSandbox({ isolation: 'process', limits: { timeout: '5s' } }, {
      hostFunctions: [
        { module: 'env', name: 'mix', params: ['i32', 'i64', 'f64'], results: ['i64', 'f64'], fn: async (m, a) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (fail) throw new Error(`refused ${a as number}`);
          // After an await the guest is still waiting: its memory is still reachable.
          return [m.readU64(16), m.size];
        } },
        { module: 'env', name: 'poke', params: ['i32'], results: ['i32'], fn: () => { throw new TypeError('not today'); } },
      ],
    });
    try {
      const threw = await sandbox.invoke(module, 'poke', 0);
      assert.equal(threw.trap?.kind, 'host-function');
      assert.match(threw.trap!.message, /env\.poke threw: not today/);
      const rejected = await sandbox.invoke(module, 'mix', 7, 0, 0);
      assert.equal(rejected.trap?.kind, 'host-function');
      assert.match(rejected.trap!.message, /env\.mix threw: refused 7/);
      fail = false;
      const answered = await sandbox.invoke(module, 'mix', 7, 0, 0);
      assert.equal(answered.exitCode, 0, JSON.stringify(answered.trap));
      assert.deepEqual(answered.results, [0x0807060504030201n, 65536]);
    } finally {
      await sandbox.close();
    }
  });
});
