// Hostile modules against a sandbox: each case has an exact outcome, and after
// each the same sandbox still runs a well-behaved module correctly.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { AdmissionError } from '../../src/sandbox/prepare.js';
import { fixture } from '../helpers/paths.js';
import { watFixture } from '../helpers/wat.js';
import { tempDir } from '../helpers/tmp.js';

const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function stillServes(sandbox: Sandbox): Promise<void> {
  const result = await sandbox.run(hello, { args: ['hello', 'again'] });
  assert.equal(result.exitCode, 0);
  assert.equal(text(result.stdout), 'hello from wasm-warden, again\n');
}

async function refusedWith(sandbox: Sandbox, bytes: Uint8Array, rule: string): Promise<void> {
  await assert.rejects(sandbox.run(bytes), (error: unknown) => {
    assert.ok(error instanceof AdmissionError, String(error));
    assert.ok(error.violations.some((v) => v.rule === rule), JSON.stringify(error.violations));
    return true;
  });
}

for (const isolation of ['none', 'thread', 'process'] as const) {
  describe(`hostile modules, ${isolation} isolation`, () => {
    let sandbox: Sandbox;
    before(async () => {
      sandbox = await createSandbox({
        isolation,
        limits: { timeout: '1s', memory: '16MiB', output: '1MiB', fds: 12, concurrency: 2 },
      });
    });
    after(() => sandbox.close());

    it('an infinite loop in _start ends at the deadline', async () => {
      const result = await sandbox.run(await watFixture('wasi-spin'));
      assert.equal(result.trap?.kind, 'deadline');
      assert.equal(result.exitCode, null);
      await stillServes(sandbox);
    });

    it('an infinite loop in the start function ends at the deadline', async () => {
      const result = await sandbox.run(await watFixture('hostile-start-loop'));
      assert.equal(result.trap?.kind, 'deadline');
      await stillServes(sandbox);
    });

    it('a memory.grow bomb stops at the memory limit and the guest goes on', async () => {
      const result = await sandbox.run(await watFixture('hostile-grow'));
      assert.equal(result.trap, null);
      assert.equal(result.exitCode, 1); // 256 pages = 16 MiB
      assert.equal(result.usage.peakMemoryBytes, 16 * 1024 * 1024);
      await stillServes(sandbox);
    });

    it('unbounded recursion traps with kind stack', async () => {
      const result = await sandbox.run(await watFixture('hostile-recurse'));
      assert.equal(result.trap?.kind, 'stack');
      await stillServes(sandbox);
    });

    it('an output flood ends at the output cap', async () => {
      const result = await sandbox.run(await watFixture('wasi-flood'));
      assert.equal(result.trap?.kind, 'output-limit');
      assert.ok(result.stdout.length <= 1024 * 1024);
      await stillServes(sandbox);
    });

    it('descriptor exhaustion gets EMFILE and the guest goes on', async () => {
      const tight = await createSandbox({ isolation, mount: [{ kind: 'tmpfs', guest: '/scratch' }], limits: { fds: 10 } });
      try {
        const result = await tight.run(new Uint8Array(readFileSync(fixture('c', 'wasi', 'exhaust.wasm'))), { args: ['x', 'fds'] });
        assert.equal(text(result.stdout), 'fds 6 EMFILE\n');
        assert.deepEqual(result.limitsHit, ['max-fds']);
      } finally {
        await tight.close();
      }
    });

    it('random_get of 1 GiB is refused with an errno, not an allocation', async () => {
      const random = await createSandbox({ isolation, random: 'os' });
      try {
        const result = await random.run(await watFixture('hostile-random'));
        assert.equal(result.exitCode, 28); // EINVAL: over the 64 MiB per-call cap
        assert.deepEqual(result.limitsHit, ['max-random-per-call']);
      } finally {
        await random.close();
      }
    });

    it('threads, shared memory, wrong signatures, unknown imports and huge declarations are refused before running', async () => {
      await refusedWith(sandbox, await watFixture('audit-threads'), 'shared-memory');
      await refusedWith(sandbox, await watFixture('audit-threads'), 'atomics');
      await refusedWith(sandbox, await watFixture('hostile-signature'), 'import-signature-mismatch');
      await refusedWith(sandbox, await watFixture('hostile-unknown-import'), 'import-unknown-module');
      await refusedWith(sandbox, await watFixture('hostile-huge'), 'memory-too-large');
      await refusedWith(sandbox, await watFixture('hostile-huge'), 'table-too-large');
      await refusedWith(sandbox, Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0x10), 'malformed');
      await stillServes(sandbox);
    });

    it('a module that traps halfway through writing leaves nothing outside its mount', async (t) => {
      const base = tempDir(t);
      const out = join(base, 'out');
      const { mkdirSync } = await import('node:fs');
      mkdirSync(out);
      const writer = await createSandbox({ isolation, mount: [{ host: out, guest: '/out', mode: 'rw' }] });
      try {
        const result = await writer.run(new Uint8Array(readFileSync(fixture('c', 'wasi', 'half_write.wasm'))));
        assert.equal(result.trap?.kind, 'unreachable');
        assert.deepEqual(readdirSync(base), ['out']);
        assert.deepEqual(readdirSync(out), ['partial.txt']);
        assert.equal(readFileSync(join(out, 'partial.txt'), 'utf8'), 'first half ');
      } finally {
        await writer.close();
      }
    });

    it('fuel ends a CPU-bound run deterministically', async () => {
      const metered = await createSandbox({ isolation, limits: { fuel: 2_000_000 } });
      try {
        const sha = new Uint8Array(readFileSync(fixture('c', 'bench', 'sha256.wasm')));
        const a = await metered.run(sha, { args: ['sha', '64'] });
        const b = await metered.run(sha, { args: ['sha', '64'] });
        assert.equal(a.trap?.kind, 'fuel');
        assert.equal(a.fuelUsed, 2_000_000);
        const small = await metered.run(hello);
        assert.equal(small.exitCode, 0);
        assert.equal(b.trap?.kind, 'fuel');
        const again = await metered.run(hello);
        assert.equal(again.fuelUsed, small.fuelUsed);
      } finally {
        await metered.close();
      }
    });

    it('refuses runs beyond its concurrency and queue instead of waiting forever', async () => {
      const busy = await createSandbox({ isolation, limits: { concurrency: 1, queue: 1, timeout: '300ms' } });
      try {
        const spin = await watFixture('wasi-spin');
        const first = busy.run(spin);
        const second = busy.run(spin);
        await assert.rejects(busy.run(spin), /busy/);
        assert.equal((await first).trap?.kind, 'deadline');
        assert.equal((await second).trap?.kind, 'deadline');
        await stillServes(busy);
      } finally {
        await busy.close();
      }
    });
  });
}
