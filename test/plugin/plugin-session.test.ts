// Plugin sessions (sandbox.plugin): one instance kept between calls in one
// isolate. What carries over (linear memory, variables) and what must not
// (plugin memory, output, error, logs; an instance stopped mid-call), and the
// per-call limits (deadline, fuel, memory), in thread and none isolation.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { threadMemoryPool } from '../../src/wasi/memory-pool.js';
import type { PolicyInput } from '../../src/policy/input.js';
import { fixture } from '../helpers/paths.js';
import { wat } from '../helpers/wat.js';

const session = new Uint8Array(readFileSync(fixture('c', 'plugins', 'session-plugin.wasm')));
const kernel = new Uint8Array(readFileSync(fixture('c', 'plugins', 'kernel-plugin.wasm')));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function withSession<T>(policy: PolicyInput, module: Uint8Array, options: { instances?: 'warm' | 'fresh' }, body: (s: Awaited<ReturnType<Awaited<ReturnType<typeof createSandbox>>['plugin']>>) => Promise<T>): Promise<T> {
  const sandbox = await createSandbox(policy);
  const s = await sandbox.plugin(module, options);
  try {
    return await body(s);
  } finally {
    await s.close();
    await sandbox.close();
  }
}

for (const isolation of ['thread', 'none'] as const) {
  describe(`plugin sessions (${isolation})`, () => {
    it('a warm session keeps linear memory between calls; a fresh one starts each call anew', async () => {
      await withSession({ isolation, limits: { timeout: '5s' } }, session, {}, async (s) => {
        const outputs = [];
        for (let i = 0; i < 3; i++) outputs.push(text((await s.call('calls')).plugin.output));
        assert.deepEqual(outputs, ['1', '2', '3']);
        assert.equal(s.instances, 1);
      });
      await withSession({ isolation, limits: { timeout: '5s' } }, session, { instances: 'fresh' }, async (s) => {
        const outputs = [];
        for (let i = 0; i < 3; i++) outputs.push(text((await s.call('calls')).plugin.output));
        assert.deepEqual(outputs, ['1', '1', '1']);
        assert.equal(s.instances, 3);
      });
    });

    if (isolation === 'none') {
      it('a fresh session\'s calls borrow a zeroed memory from the thread\'s pool and give it back', async () => {
        await withSession({ isolation, limits: { timeout: '5s' } }, session, { instances: 'fresh' }, async (s) => {
          const before = threadMemoryPool.reused;
          const outputs = [];
          // Each call counts in its instance's linear memory: a memory handed on unzeroed would answer 2, then 3.
          for (let i = 0; i < 4; i++) outputs.push(text((await s.call('calls')).plugin.output));
          assert.deepEqual(outputs, ['1', '1', '1', '1']);
          assert.ok(threadMemoryPool.reused - before >= 3, 'the calls after the first ran on a memory an earlier call gave back');
        });
      });
    }

    it('a record stays as its call left it: nothing in it is a view of memory a later call writes', async () => {
      await withSession({ isolation, limits: { timeout: '5s' } }, kernel, {}, async (s) => {
        // Both calls' records cross whole (logs; a variable set), through the session's shared region in thread isolation.
        const logged = await s.call('log');
        const counted = await s.call('count');
        assert.equal(text(counted.plugin.output), '1');
        assert.equal(text(logged.plugin.output), 'logged', 'the first record\'s output after the second call');
        assert.equal(logged.plugin.logs.length, 3);
        for (const bytes of [logged.plugin.output, logged.stdout, logged.stderr, counted.plugin.output]) {
          assert.ok(!(bytes.buffer instanceof SharedArrayBuffer), 'a record holds no view of shared memory');
        }
      });
    });

    it('a trap poisons the instance: the next call gets a fresh one', async () => {
      await withSession({ isolation, limits: { timeout: '5s' } }, session, {}, async (s) => {
        assert.equal(text((await s.call('calls')).plugin.output), '1');
        const trapped = await s.call('trap');
        assert.equal(trapped.trap?.kind, 'unreachable');
        assert.equal(trapped.plugin.rc, null);
        // The trapping call had counted (2) before it trapped; a reused instance would answer 3.
        const after = await s.call('calls');
        assert.equal(text(after.plugin.output), '1');
        assert.equal(after.instanceReused, false);
        assert.equal(s.instances, 2);
      });
    });

    it('plugin memory does not carry over: a block left by one call reads as zeros in the next', async () => {
      await withSession({ isolation, limits: { timeout: '5s' } }, session, {}, async (s) => {
        const secret = 'the previous caller\'s secret';
        assert.equal((await s.call('stash', secret)).plugin.rc, 0);
        const peeked = await s.call('peek', 'x'.repeat(secret.length));
        assert.deepEqual(peeked.plugin.output, new Uint8Array(secret.length));
        assert.equal(peeked.instanceReused, true);
      });
    });

    it('output, error and logs are each call\'s own; variables carry over, as in the ABI', async () => {
      await withSession({ isolation, limits: { timeout: '5s' } }, kernel, {}, async (s) => {
        const failed = await s.call('fail');
        assert.equal(failed.plugin.rc, 1);
        assert.ok(failed.plugin.error);
        const logged = await s.call('log');
        assert.ok(logged.plugin.logs.length > 0);
        assert.equal(logged.plugin.error, null);
        const echoed = await s.call('echo', 'hi');
        assert.equal(text(echoed.plugin.output), 'hi');
        assert.deepEqual(echoed.plugin.logs, []);
        assert.equal(echoed.plugin.error, null);
        assert.equal(text((await s.call('count')).plugin.output), '1');
        assert.equal(text((await s.call('count')).plugin.output), '2');
      });
    });

    it('calls made together run one at a time, in the order they were made', async () => {
      await withSession({ isolation, limits: { timeout: '5s' } }, session, {}, async (s) => {
        // One call first (on an idle session it may complete before the next is made), then twenty at once, one of them refused.
        assert.equal(text((await s.call('calls')).plugin.output), '1');
        const together = Array.from({ length: 20 }, (_, i) => (i === 7 ? s.call('no-such-export') : s.call('calls')));
        const settled = await Promise.allSettled(together);
        assert.equal(settled[7]!.status, 'rejected');
        const outputs = settled.filter((r) => r.status === 'fulfilled').map((r) => text((r as PromiseFulfilledResult<{ plugin: { output: Uint8Array } }>).value.plugin.output));
        assert.deepEqual(outputs, Array.from({ length: 19 }, (_, i) => String(i + 2)));
        assert.equal(text((await s.call('calls')).plugin.output), '21');
      });
    });

    it('the deadline bounds each call, and the session goes on with a new instance', async () => {
      await withSession({ isolation, limits: { timeout: '300ms' } }, session, {}, async (s) => {
        assert.equal(text((await s.call('calls')).plugin.output), '1');
        const spun = await s.call('spin');
        assert.equal(spun.trap?.kind, 'deadline');
        assert.ok(spun.limitsHit.includes('timeout'));
        const after = await s.call('calls');
        assert.equal(after.trap, null);
        assert.equal(text(after.plugin.output), '1');
      });
    });

    it('fuel is each call\'s budget', async () => {
      await withSession({ isolation, limits: { timeout: '5s', fuel: 200_000 } }, session, {}, async (s) => {
        const first = await s.call('calls');
        assert.equal(first.trap, null);
        assert.ok(first.fuelUsed! > 0);
        const spun = await s.call('spin');
        assert.equal(spun.trap?.kind, 'fuel');
        // A budget left over from an earlier call would not have run out; a fresh one per call runs out again.
        assert.equal((await s.call('spin')).trap?.kind, 'fuel');
        assert.equal(text((await s.call('calls')).plugin.output), '1');
      });
    });

    it('the memory limit holds across calls of one instance', async () => {
      await withSession({ isolation, limits: { timeout: '5s', memory: '2MiB' } }, session, {}, async (s) => {
        const grown = await s.call('grow', 'x'.repeat(8));
        assert.equal(grown.plugin.rc, 0);
        // 2 MiB is 32 pages: growth that would pass it is refused in a later call on the same instance, too.
        const refused = await s.call('grow', 'x'.repeat(32));
        assert.equal(text(refused.plugin.output), 'refused');
        assert.ok(refused.usage.peakMemoryBytes <= 2 * 1024 * 1024);
      });
    });

    it('a closure granted to the sandbox serves the session\'s calls, counted per call', async () => {
      const module = await wat(`(module
        (import "extism:host/env" "output_set" (func $out (param i64 i64)))
        (import "env" "twice" (func $twice (param i32) (result i32)))
        (global $n (mut i32) (i32.const 0))
        (func (export "go") (result i32)
          (global.set $n (call $twice (i32.add (global.get $n) (i32.const 1))))
          (global.get $n)))`);
      const sandbox = await createSandbox({ isolation, limits: { timeout: '5s' } }, {
        hostFunctions: [{ module: 'env', name: 'twice', params: ['i32'], results: ['i32'], fn: (_m, x) => (x as number) * 2 }],
      });
      const s = await sandbox.plugin(module);
      try {
        const rcs = [];
        for (let i = 0; i < 3; i++) {
          const r = await s.call('go');
          assert.deepEqual(r.hostCalls, { 'env.twice': 1 });
          rcs.push(r.plugin.rc);
        }
        // The global carried over: (0+1)*2, (2+1)*2, (6+1)*2.
        assert.deepEqual(rcs, [2, 6, 14]);
      } finally {
        await s.close();
        await sandbox.close();
      }
    });

    it('a plugin that imports WASI writes each call\'s own stdout into that call\'s record', async () => {
      const module = await wat(`(module
        (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (import "extism:host/env" "input_length" (func $len (result i64)))
        (memory (export "memory") 1)
        (data (i32.const 16) "hi\\n")
        (global $n (mut i32) (i32.const 0))
        (func (export "say") (result i32)
          (global.set $n (i32.add (global.get $n) (i32.const 1)))
          (i32.store (i32.const 0) (i32.const 16))
          (i32.store (i32.const 4) (i32.const 3))
          (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (global.get $n)))`);
      await withSession({ isolation, stdio: { stdout: 'capture' }, limits: { timeout: '5s' } }, module, {}, async (s) => {
        for (const n of [1, 2]) {
          const r = await s.call('say');
          assert.equal(text(r.stdout), 'hi\n');
          assert.equal(r.plugin.rc, n);
        }
      });
    });

    it('a var_set that traps on its value does not widen plugin.vars for the calls after it', async () => {
      // Each variable here costs 1 + 2000 + 256 bytes: three fit in 8 KiB, a fourth does not.
      // A var_set naming a value that is no block traps; it had already credited the old value's
      // cost back, and the kernel outlives the poisoned instance, so each such trap widened the bound.
      const module = await wat(`(module
        (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
        (import "extism:host/env" "input_load_u8" (func $in8 (param i64) (result i32)))
        (import "extism:host/env" "store_u8" (func $store (param i64 i32)))
        (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
        (func $key (result i64) (local $k i64)
          (local.set $k (call $alloc (i64.const 1)))
          (call $store (local.get $k) (call $in8 (i64.const 0)))
          (local.get $k))
        (func (export "set") (result i32)
          (call $var_set (call $key) (call $alloc (i64.const 2000)))
          (i32.const 0))
        (func (export "set_bad") (result i32)
          (call $var_set (call $key) (i64.const 999999))
          (i32.const 0)))`);
      await withSession({ isolation, limits: { timeout: '5s' }, plugin: { vars: '8KiB' } }, module, {}, async (s) => {
        assert.equal((await s.call('set', 'a')).trap, null);
        for (let i = 0; i < 10; i++) assert.equal((await s.call('set_bad', 'a')).trap?.kind, 'out-of-bounds');
        const kinds = [];
        for (const name of 'bcdefg') kinds.push((await s.call('set', name)).trap?.kind ?? 'ok');
        assert.deepEqual(kinds, ['ok', 'ok', 'host-limit', 'host-limit', 'host-limit', 'host-limit']);
      });
    });

    it('a function that is not a plugin function is refused before the call', async () => {
      await withSession({ isolation, limits: { timeout: '5s' } }, session, {}, async (s) => {
        await assert.rejects(s.call('nothing-here'), /nothing-here|export/);
        assert.equal(text((await s.call('calls')).plugin.output), '1');
      });
    });
  });
}

describe('plugin sessions: closing', () => {
  it('a call after close is refused', async () => {
    const sandbox = await createSandbox({ isolation: 'thread' });
    const s = await sandbox.plugin(session);
    await s.call('calls');
    await s.close();
    await assert.rejects(s.call('calls'), /closed/);
    await sandbox.close();
  });

  it('closing the sandbox closes its sessions', async () => {
    const sandbox = await createSandbox({ isolation: 'thread' });
    const s = await sandbox.plugin(session);
    assert.equal((await s.call('calls')).trap, null);
    await sandbox.close();
    await assert.rejects(s.call('calls'), /closed/);
  });

  it('a large input and output cross intact (through the port beside the shared region)', async () => {
    await withSession({ isolation: 'thread', limits: { timeout: '5s' } }, kernel, {}, async (s) => {
      const big = new Uint8Array(600_000).map((_, i) => (i * 7) & 0xff);
      const r = await s.call('echo', big);
      assert.deepEqual(r.plugin.output, big);
      assert.equal(text((await s.call('echo', 'small')).plugin.output), 'small');
    });
  });
});
