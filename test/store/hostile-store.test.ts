// A store whose data dir someone else wrote to: a FIFO, a device behind a
// symlink, a link to a file elsewhere, a truncated or swapped entry. Each is
// refused with one line naming the digest, within bounds (a FIFO read never
// ends; /dev/zero behind a link filled the host's memory), and nothing is run.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore, StoreError } from '../../src/store/local.js';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const module = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);

function storeWith(t: Parameters<typeof tempDir>[0]): { dir: string; digest: string; blob: string } {
  const dir = tempDir(t);
  const digest = openStore(dir).put(module);
  return { dir, digest, blob: join(dir, 'blobs', 'sha256', digest.slice(7)) };
}

/** `warden run DIGEST` against the store: refused before the guest runs, one line on stderr. */
async function refusedRun(dir: string, digest: string, reason: RegExp): Promise<void> {
  const r = await runWarden(['run', '--data-dir', dir, digest], { timeoutMs: 60_000 });
  assert.equal(r.code, 125, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, reason);
  assert.match(lines[0]!, new RegExp(digest));
}

describe('a hostile store', () => {
  it('a FIFO under a digest\'s name is refused, not read for ever', async (t) => {
    const { dir, digest, blob } = storeWith(t);
    unlinkSync(blob);
    execFileSync('mkfifo', [blob]);
    assert.throws(() => openStore(dir).get(digest), (e: Error) => e instanceof StoreError && /not a regular file/.test(e.message));
    await refusedRun(dir, digest, /not a regular file/);
  });

  it('a symlink to /dev/zero is refused before a byte is read', async (t) => {
    const { dir, digest, blob } = storeWith(t);
    unlinkSync(blob);
    symlinkSync('/dev/zero', blob);
    assert.throws(() => openStore(dir).get(digest), /symbolic link/);
    await refusedRun(dir, digest, /symbolic link/);
  });

  it('a symlink to a file elsewhere is refused, even one holding the right bytes', (t) => {
    const { dir, digest, blob } = storeWith(t);
    const elsewhere = join(tempDir(t), 'module.wasm');
    writeFileSync(elsewhere, module);
    unlinkSync(blob);
    symlinkSync(elsewhere, blob);
    assert.throws(() => openStore(dir).get(digest), /symbolic link/);
    // Still there for the store to say what is wrong: not "missing".
    assert.equal(openStore(dir).has(digest), true);
  });

  it('a truncated entry and one swapped for another module are corrupted', async (t) => {
    const { dir, digest, blob } = storeWith(t);
    truncateSync(blob, 5);
    await refusedRun(dir, digest, /corrupted/);
    const other = openStore(dir).put(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, 0]));
    copyFileSync(join(dir, 'blobs', 'sha256', other.slice(7)), blob);
    await refusedRun(dir, digest, /corrupted/);
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'blobs', 'sha256', other.slice(7)))).length, 10);
  });

  it('ls lists regular entries only', (t) => {
    const { dir, digest, blob } = storeWith(t);
    const other = openStore(dir).put(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0]));
    unlinkSync(blob);
    symlinkSync(join(dir, 'blobs', 'sha256', other.slice(7)), blob);
    assert.deepEqual(openStore(dir).entries().map((e) => e.digest), [other]);
    assert.notEqual(digest, other);
  });
});
