// Sandboxes with different policies sharing one pool of worker isolates:
// each run sees only its own sandbox's mounts (the grant travels with the
// run, nothing stays in the worker), a run killed at its deadline in one
// sandbox leaves the other's runs whole, closing one sandbox leaves the pool
// serving the other, and each sandbox keeps its own queue bound.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSandbox, createSharedPool, SandboxBusyError, SandboxClosedError } from '../../src/sandbox/sandbox.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { watFixture } from '../helpers/wat.js';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function tenantDir(t: Parameters<typeof tempDir>[0], secret: string): string {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'secret.txt'), `${secret}\n`);
  return dir;
}

describe('a shared pool of worker isolates', () => {
  it('runs each sandbox under its own mounts, on the same single worker', async (t) => {
    const pool = createSharedPool({ size: 1, queue: 16 });
    t.after(() => pool.close());
    const dirA = tenantDir(t, 'alpha');
    const dirB = tenantDir(t, 'bravo');
    const a = await createSandbox({ isolation: 'thread', mount: [{ host: dirA, guest: '/data', mode: 'ro' }] }, { pool });
    const b = await createSandbox({ isolation: 'thread', mount: [{ host: dirB, guest: '/files', mode: 'ro' }] }, { pool });
    const cat = new Uint8Array(readFileSync(fixture('c', 'wasi', 'cat.wasm')));
    // Interleaved on one worker: every run follows a run of the other sandbox.
    const [a1, b1, a2, b2] = await Promise.all([
      a.run(cat, { args: ['cat', '/data/secret.txt'] }),
      b.run(cat, { args: ['cat', '/files/secret.txt'] }),
      a.run(cat, { args: ['cat', '/files/secret.txt'] }),
      b.run(cat, { args: ['cat', '/data/secret.txt'] }),
    ]);
    assert.match(text(a1.stdout), /^alpha\n/);
    assert.match(text(b1.stdout), /^bravo\n/);
    // The other sandbox's mount does not exist for this one, though the worker just ran with it.
    assert.equal(a2.exitCode, 1);
    assert.match(text(a2.stdout), /^open failed/);
    assert.equal(b2.exitCode, 1);
    assert.match(text(b2.stdout), /^open failed/);
    assert.equal(pool.stats.replaced, 0);
  });

  it('keeps one sandbox whole while a run of another is killed at its deadline', async (t) => {
    const pool = createSharedPool({ size: 2, queue: 16 });
    t.after(() => pool.close());
    const spinner = await createSandbox({ isolation: 'thread', limits: { timeout: '200ms' } }, { pool });
    const dir = tenantDir(t, 'steady');
    const steady = await createSandbox({ isolation: 'thread', mount: [{ host: dir, guest: '/data', mode: 'ro' }] }, { pool });
    const spin = await watFixture('wasi-spin');
    const cat = new Uint8Array(readFileSync(fixture('c', 'wasi', 'cat.wasm')));
    const spun = spinner.run(spin);
    const reads = await Promise.all(Array.from({ length: 6 }, () => steady.run(cat, { args: ['cat', '/data/secret.txt'] })));
    const killed = await spun;
    assert.equal(killed.trap?.kind, 'deadline');
    for (const r of reads) {
      assert.equal(r.exitCode, 0);
      assert.match(text(r.stdout), /^steady\n/);
    }
    // The killed worker was replaced, and both sandboxes still run in the pool.
    assert.equal(pool.stats.replaced, 1);
    const after = await steady.run(cat, { args: ['cat', '/data/secret.txt'] });
    assert.match(text(after.stdout), /^steady\n/);
    assert.equal((await spinner.run(spin)).trap?.kind, 'deadline');
  });

  it('serves the other sandboxes after one is closed', async (t) => {
    const pool = createSharedPool({ size: 1, queue: 16 });
    t.after(() => pool.close());
    const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));
    const first = await createSandbox({ isolation: 'thread' }, { pool });
    const second = await createSandbox({ isolation: 'thread' }, { pool });
    assert.equal((await first.run(hello, { args: ['hello', 'first'] })).exitCode, 0);
    await first.close();
    await assert.rejects(first.run(hello), SandboxClosedError);
    const r = await second.run(hello, { args: ['hello', 'second'] });
    assert.equal(r.exitCode, 0);
    assert.match(text(r.stdout), /second/);
  });

  it("applies each sandbox's own concurrency and queue bound", async (t) => {
    const pool = createSharedPool({ size: 2, queue: 16 });
    t.after(() => pool.close());
    const spin = await watFixture('wasi-spin');
    const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));
    const narrow = await createSandbox({ isolation: 'thread', limits: { timeout: '200ms', concurrency: 1, queue: 1 } }, { pool });
    const other = await createSandbox({ isolation: 'thread' }, { pool });
    const running = narrow.run(spin);
    const waiting = narrow.run(spin);
    // One running and one waiting: a third is refused, though the pool has a free worker.
    await assert.rejects(narrow.run(spin), SandboxBusyError);
    // That free worker serves another sandbox meanwhile.
    assert.equal((await other.run(hello)).exitCode, 0);
    assert.equal((await running).trap?.kind, 'deadline');
    assert.equal((await waiting).trap?.kind, 'deadline');
  });

  it('refuses host functions loaded by path, which a shared worker would keep across sandboxes', async (t) => {
    const pool = createSharedPool({ size: 1, queue: 1 });
    t.after(() => pool.close());
    await assert.rejects(
      createSandbox({ isolation: 'thread' }, { pool, hostFunctions: [{ module: 'env', name: 'f', params: [], results: [], from: { path: '/nonexistent.js', export: 'f' } }] }),
      /shared pool/,
    );
  });
});
