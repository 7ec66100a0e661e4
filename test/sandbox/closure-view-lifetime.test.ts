// A host function's guest-memory view lives as long as its call: kept and
// used after the call was answered (a timer, a promise settled later), it
// throws a TypeError naming the function at once, on the embedder's thread,
// in every isolation mode. Over a channel nobody would serve that access (the
// guest has moved on), so without this the embedder's thread would wait until
// the deadline, or for ever in a run without one. Within the call, across the
// closure's own awaits, the view still works. The same for a plugin
// session's calls.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import type { GuestMemoryView, HostFunctionBody } from '../../src/sandbox/host-functions.js';
import { keptViewGuest } from '../helpers/kept-view-guest.js';
import { wat } from '../helpers/wat.js';

const module = await keptViewGuest({ wait: true });

const keptViewChild = fileURLToPath(new URL('./kept-view-child.js', import.meta.url));
const USED_AFTER = /^env\.keep: guest memory used after the call returned/;

/** What a use of a kept view did: the value read, or the error thrown. */
type Use = { value: number } | { error: unknown };
const use = (view: GuestMemoryView, f: (v: GuestMemoryView) => number): Use => {
  try {
    return { value: f(view) };
  } catch (error) {
    return { error };
  }
};

function assertRefused(outcome: Use, what: string): void {
  assert.ok('error' in outcome, `${what}: the kept view still worked`);
  assert.ok(outcome.error instanceof TypeError, `${what}: ${String(outcome.error)}`);
  assert.match(outcome.error.message, USED_AFTER, what);
}

/** The guest's `env.keep` and `env.wait` as the test defines them (`wait` reads its pointer unless given), in `isolation`. */
const sandboxWith = (isolation: 'none' | 'thread' | 'process', keep: HostFunctionBody, wait: HostFunctionBody = (memory, ptr) => memory.readU32(ptr as number)) =>
  createSandbox({ isolation, limits: { timeout: '5s' } }, {
    hostFunctions: [
      { module: 'env', name: 'keep', params: ['i32'], results: ['i32'], fn: keep },
      { module: 'env', name: 'wait', params: ['i32'], results: ['i32'], fn: wait },
    ],
  });

for (const isolation of ['none', 'thread', 'process'] as const) {
  describe(`a host function's memory view ends with its call, ${isolation} isolation`, () => {
    it('a view kept and used from a timer while the guest runs on throws at once; the sandbox keeps serving', async () => {
      let kept: GuestMemoryView | null = null;
      let later: Promise<Use> = Promise.resolve({ value: -1 });
      const sandbox = await sandboxWith(isolation, (memory, ptr) => {
        kept = memory;
        // Fires while the guest is still counting down (in a worker or a child), or after the run (none).
        later = new Promise((resolve) => setTimeout(() => resolve(use(memory, (m) => { m.writeU32(ptr as number, 7); return m.readU32(ptr as number); })), 0));
        return memory.readU32(ptr as number);
      });
      try {
        const first = await sandbox.invoke(module, 'keep_then_spin', 30_000_000);
        assert.equal(first.exitCode, 0, JSON.stringify(first.trap));
        assert.deepEqual(first.results, [42]);
        assertRefused(await later, 'a use from a timer');
        assertRefused(use(kept!, (m) => m.size), 'size after the run');
        // The refused write did not reach guest memory, and the sandbox serves the next run.
        const second = await sandbox.invoke(module, 'wait_then_read');
        assert.equal(second.exitCode, 0, JSON.stringify(second.trap));
        assert.deepEqual(second.results, [42]);
      } finally {
        await sandbox.close();
      }
    });

    it('a view kept from an earlier run, used during a later run\'s call, throws and never reaches that run\'s guest', async () => {
      let kept: GuestMemoryView | null = null;
      let during: Use | null = null;
      const sandbox = await sandboxWith(isolation, (memory, ptr) => { kept = memory; return memory.readU32(ptr as number); }, (memory, ptr) => {
        // The later run's guest is waiting for this call and serves its memory: the old view must not ride on that.
        during = use(kept!, (m) => { m.writeU32(ptr as number, 9); return 0; });
        return memory.readU32(ptr as number);
      });
      try {
        assert.deepEqual((await sandbox.invoke(module, 'keep_then_spin', 0)).results, [42]);
        const later = await sandbox.invoke(module, 'wait_then_read');
        assert.equal(later.exitCode, 0, JSON.stringify(later.trap));
        assert.ok(during);
        assertRefused(during, 'a use during a later run');
        // The write never landed: the later guest's memory still holds 42.
        assert.deepEqual(later.results, [42]);
      } finally {
        await sandbox.close();
      }
    });
  });
}

for (const isolation of ['thread', 'process'] as const) {
  describe(`a kept view in a run without a deadline, ${isolation} isolation`, () => {
    it('throws at once instead of holding the embedder\'s thread for ever', () => {
      // In a child process: held for ever, the thread could not even run this test's timeout.
      const ran = spawnSync(process.execPath, ['--no-warnings', keptViewChild, isolation], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(ran.status, 0, `the child did not finish (signal ${ran.signal}): ${ran.stderr.slice(-400)}`);
      const seen = JSON.parse(ran.stdout) as { exitCode: number; error: string | null; message: string; next: unknown };
      assert.equal(seen.exitCode, 0);
      assert.equal(seen.error, 'TypeError');
      assert.match(seen.message, USED_AFTER);
      assert.deepEqual(seen.next, [42]);
    });
  });

  describe(`an async closure's memory view, ${isolation} isolation`, () => {
    it('works after the closure\'s own await, and ends when its promise settles', async () => {
      let kept: GuestMemoryView | null = null;
      const sandbox = await sandboxWith(isolation, async (memory, ptr) => {
        kept = memory;
        await new Promise((resolve) => setTimeout(resolve, 5));
        // The guest still waits for this call: its memory is reachable after the await.
        memory.writeU32(ptr as number, 43);
        return memory.readU32(ptr as number);
      });
      try {
        const r = await sandbox.invoke(module, 'keep_then_spin', 0);
        assert.equal(r.exitCode, 0, JSON.stringify(r.trap));
        assert.deepEqual(r.results, [43]);
        assertRefused(use(kept!, (m) => m.readU32(16)), 'a use after the promise settled');
        assert.deepEqual((await sandbox.invoke(module, 'wait_then_read')).results, [42]);
      } finally {
        await sandbox.close();
      }
    });
  });
}

for (const isolation of ['thread', 'none'] as const) {
  describe(`a plugin session's closure view, ${isolation} isolation`, () => {
    it('a view kept from one session call throws when used after it; the next call is served', async () => {
      const plugin = await wat(`(module
        (import "extism:host/env" "output_set" (func $out (param i64 i64)))
        (import "env" "keep" (func $keep (param i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "\\2a\\00\\00\\00")
        (func (export "go") (result i32) (call $keep (i32.const 16))))`);
      let kept: GuestMemoryView | null = null;
      const read: number[] = [];
      const sandbox = await createSandbox({ isolation, limits: { timeout: '5s' } }, {
        hostFunctions: [{ module: 'env', name: 'keep', params: ['i32'], results: ['i32'], fn: (memory, ptr) => {
          kept = memory;
          read.push(memory.readU32(ptr as number));
          return 0;
        } }],
      });
      const s = await sandbox.plugin(plugin);
      try {
        assert.equal((await s.call('go')).plugin.rc, 0);
        assertRefused(use(kept!, (m) => m.readU32(16)), 'a use after a session call');
        assert.equal((await s.call('go')).plugin.rc, 0);
        assert.deepEqual(read, [42, 42]);
      } finally {
        await s.close();
        await sandbox.close();
      }
    });
  });
}
