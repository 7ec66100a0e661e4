// Attacks on the host-directory capability: every way out of a preopen we
// know of, each asserting that nothing outside was read, created or changed.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Errno, WasiError } from '../../../src/wasi/errno.js';
import { hostDirectory } from '../../../src/wasi/fs/host-directory.js';
import { createQuota } from '../../../src/wasi/fs/quota.js';
import { timestampPrecisionNs } from '../../../src/wasi/fs/timestamps.js';
import type { Directory, File, OpenOptions } from '../../../src/wasi/fs/types.js';
import { tempDir } from '../../helpers/tmp.js';
import { hostTreeBlocks, linksLeadingOut } from './host-tree.js';

const read: OpenOptions = { create: false, exclusive: false, truncate: false, directory: false, read: true, write: false, append: false, followSymlinks: true };
const create: OpenOptions = { ...read, create: true, write: true };

function setup(t: Parameters<typeof tempDir>[0], readOnly = false) {
  const base = tempDir(t);
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'SECRET');
  const quota = createQuota({ maxWriteBytes: 1 << 20, maxFilesCreated: 1000 });
  const dir = hostDirectory(root, { readOnly, quota, now: () => 0n });
  t.after(() => dir.close());
  return { base, root, outside, dir, quota };
}

function errnoOf(fn: () => unknown): number {
  try {
    const result = fn();
    if (result && typeof result === 'object' && 'close' in result) (result as File).close();
    return Errno.SUCCESS;
  } catch (error) {
    if (error instanceof WasiError) return error.errno;
    throw error;
  }
}

function assertOutsideUntouched(outside: string): void {
  assert.deepEqual(readdirSync(outside), ['secret']);
  assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'SECRET');
}

describe('escaping a host preopen', () => {
  it('refuses .. above the root in every shape', (t) => {
    const { dir, root, outside } = setup(t);
    mkdirSync(join(root, 'a'));
    for (const path of ['..', '../outside/secret', 'a/../../outside/secret', './..', 'a/./../..', 'a/../a/../../outside', '../root/../outside/secret']) {
      assert.equal(errnoOf(() => dir.open(path, read)), Errno.PERM, path);
      assert.equal(errnoOf(() => dir.statAt(path, true)), Errno.PERM, path);
    }
    assert.equal(errnoOf(() => dir.open('a/..', read)), Errno.SUCCESS);
    assertOutsideUntouched(outside);
  });

  it('refuses absolute paths', (t) => {
    const { dir, outside } = setup(t);
    assert.equal(errnoOf(() => dir.open(join(outside, 'secret'), read)), Errno.PERM);
    assert.equal(errnoOf(() => dir.open('/etc/passwd', read)), Errno.PERM);
    assert.equal(errnoOf(() => dir.createDirectory('/tmp/x')), Errno.PERM);
  });

  it('does not follow symlinks that lead outside: relative, absolute, chained, with a trailing slash', (t) => {
    const { dir, root, outside } = setup(t);
    symlinkSync('../outside', join(root, 'rel'));
    symlinkSync(outside, join(root, 'abs'));
    symlinkSync(join(outside, 'secret'), join(root, 'abs-file'));
    symlinkSync('rel', join(root, 'chain'));
    mkdirSync(join(root, 'sub'));
    symlinkSync('../../outside/secret', join(root, 'sub', 'deep'));
    for (const path of ['rel/secret', 'abs/secret', 'abs-file', 'chain/secret', 'sub/deep', 'rel/', 'abs/', 'chain/', 'rel/.', 'sub/deep/']) {
      const errno = errnoOf(() => dir.open(path, read));
      assert.ok(errno === Errno.PERM || errno === Errno.NOTDIR, `${path}: ${errno}`);
      assert.notEqual(errnoOf(() => dir.statAt(path, true)), Errno.SUCCESS, path);
    }
    // Without following, the link itself is what is named, and that is allowed.
    assert.equal(dir.statAt('abs', false).filetype, 7);
    assert.equal(new TextDecoder().decode(dir.readlink('rel')), '../outside');
    assertOutsideUntouched(outside);
  });

  it('does not create through a dangling symlink that points outside', (t) => {
    const { dir, root, outside } = setup(t);
    symlinkSync('../outside/created', join(root, 'dangling'));
    symlinkSync(join(outside, 'created2'), join(root, 'dangling-abs'));
    assert.equal(errnoOf(() => dir.open('dangling', create)), Errno.PERM);
    assert.equal(errnoOf(() => dir.open('dangling-abs', create)), Errno.PERM);
    assert.equal(errnoOf(() => dir.open('dangling/', create)), Errno.PERM);
    assertOutsideUntouched(outside);
  });

  it('follows symlinks that stay inside', (t) => {
    const { dir, root } = setup(t);
    mkdirSync(join(root, 'a'));
    writeFileSync(join(root, 'a', 'f'), 'inside');
    symlinkSync('a', join(root, 'to-a'));
    mkdirSync(join(root, 'b'));
    symlinkSync('../a/f', join(root, 'b', 'up'));
    const file = dir.open('to-a/f', read) as File;
    const buf = new Uint8Array(6);
    file.read(buf, null, 0, buf.length);
    file.close();
    assert.equal(new TextDecoder().decode(buf), 'inside');
    assert.equal(dir.statAt('b/up', true).size, 6n);
  });

  it('ends symlink loops with ELOOP', (t) => {
    const { dir, root } = setup(t);
    symlinkSync('b', join(root, 'a'));
    symlinkSync('a', join(root, 'b'));
    symlinkSync('self/x', join(root, 'self'));
    assert.equal(errnoOf(() => dir.open('a', read)), Errno.LOOP);
    assert.equal(errnoOf(() => dir.open('self/x', read)), Errno.LOOP);
  });

  it('refuses symlinks with absolute targets, and links cannot name outside files', (t) => {
    const { dir, root, outside } = setup(t);
    assert.equal(errnoOf(() => dir.symlink(join(outside, 'secret'), 'l')), Errno.PERM);
    writeFileSync(join(root, 'mine'), 'mine');
    assert.equal(errnoOf(() => dir.link('../outside/secret', false, dir, 'stolen')), Errno.PERM);
    assert.equal(errnoOf(() => dir.link('mine', false, dir, '../outside/planted')), Errno.PERM);
    assertOutsideUntouched(outside);
  });

  it('renames neither into nor out of the preopen', (t) => {
    const { dir, root, outside } = setup(t);
    writeFileSync(join(root, 'mine'), 'mine');
    assert.equal(errnoOf(() => dir.rename('mine', dir, '../outside/mine')), Errno.PERM);
    assert.equal(errnoOf(() => dir.rename('../outside/secret', dir, 'got')), Errno.PERM);
    symlinkSync('../outside', join(root, 'out'));
    assert.equal(errnoOf(() => dir.rename('mine', dir, 'out/mine')), Errno.PERM);
    assert.ok(existsSync(join(root, 'mine')));
    assertOutsideUntouched(outside);
  });

  it('refuses NUL bytes and over-long names', (t) => {
    const { dir } = setup(t);
    assert.equal(errnoOf(() => dir.open('a\0b', read)), Errno.ILSEQ);
    assert.equal(errnoOf(() => dir.open('x'.repeat(256), read)), Errno.NAMETOOLONG);
    assert.equal(errnoOf(() => dir.open('a/'.repeat(2100), read)), Errno.NAMETOOLONG);
    assert.equal(errnoOf(() => dir.open('', read)), Errno.NOENT);
  });

  it('survives a concurrent attacker swapping a directory for a symlink to outside', async (t) => {
    const { dir, root, outside, base } = setup(t);
    mkdirSync(join(root, 'swap'));
    // The attacker renames a real directory and a symlink to outside back and forth, as fast as it can.
    const script = `
      const fs = require('fs'); const path = require('path');
      const root = ${JSON.stringify(root)}; const outside = ${JSON.stringify(outside)};
      fs.mkdirSync(path.join(root, 'real'), { recursive: true });
      fs.symlinkSync(outside, path.join(root, 'evil'));
      const end = Date.now() + 3000;
      while (Date.now() < end) {
        try { fs.renameSync(path.join(root, 'swap'), path.join(root, 'real-tmp')); } catch {}
        try { fs.renameSync(path.join(root, 'evil'), path.join(root, 'swap')); } catch {}
        try { fs.renameSync(path.join(root, 'swap'), path.join(root, 'evil')); } catch {}
        try { fs.renameSync(path.join(root, 'real-tmp'), path.join(root, 'swap')); } catch {}
      }`;
    const attacker = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    t.after(() => attacker.kill('SIGKILL'));
    await new Promise((r) => setTimeout(r, 100));
    let opened = 0;
    let created = 0;
    const started = Date.now();
    for (let i = 0; i < 3000 && Date.now() - started < 2500; i++) {
      try {
        const f = dir.open('swap/secret', read) as File;
        const buf = new Uint8Array(16);
        const n = f.read(buf, null, 0, buf.length);
        f.close();
        assert.notEqual(new TextDecoder().decode(buf.subarray(0, n)), 'SECRET', 'read a file outside the preopen');
        opened++;
      } catch (error) {
        if (!(error instanceof WasiError)) throw error;
      }
      try {
        (dir.open(`swap/new-${i}`, create) as File).close();
        created++;
      } catch (error) {
        if (!(error instanceof WasiError)) throw error;
      }
    }
    attacker.kill('SIGKILL');
    await new Promise((r) => attacker.once('exit', r));
    assertOutsideUntouched(outside);
    assert.ok(created > 0, 'the race never let a legitimate create through');
    void opened;
    void base;
  });

  it('hard links made on the host to outside inodes are the operator\'s doing, not an escape', (t) => {
    // Documented limit: a host-side hard link inside the root shares the inode; the guest reaches
    // the same bytes under a name inside its grant. wasm-warden cannot tell; operators must not plant them.
    const { dir, root, outside } = setup(t);
    linkSync(join(outside, 'secret'), join(root, 'planted'));
    assert.equal(dir.statAt('planted', false).nlink, 2n);
  });
});

describe('planting links that lead out', () => {
  it('leaves no link leading out when two runs on one mount race a link\'s creation against its directory\'s move up', async (t) => {
    // Two runs sharing a mount (a server runs a tenant's requests side by side on its root):
    // one makes `d/sN/lI -> ../..` (inside: sN sits two levels down) and removes it again, the
    // other moves `d/sN` up to `uN`, where the same link would climb out. Each checks before
    // it acts; a link made between the mover's check and its rename landed one level too high.
    const base = tempDir(t);
    const root = join(base, 'root');
    mkdirSync(join(root, 'd'), { recursive: true });
    const flags = new Int32Array(new SharedArrayBuffer(8)); // [current N, stop]
    const modules = {
      directory: new URL('../../../src/wasi/fs/host-directory.js', import.meta.url).href,
      quota: new URL('../../../src/wasi/fs/quota.js', import.meta.url).href,
    };
    const body = `
      const { workerData: { root, role, flags, modules }, parentPort } = require('node:worker_threads');
      (async () => {
        const { hostDirectory } = await import(modules.directory);
        const { createQuota } = await import(modules.quota);
        const dir = hostDirectory(root, { quota: createQuota({ maxWriteBytes: 1e12, maxFilesCreated: 1e9 }), now: () => 0n });
        let done = 0;
        if (role === 'links') {
          for (let i = 0; Atomics.load(flags, 1) === 0; i++) {
            const at = 'd/s' + Atomics.load(flags, 0) + '/l' + i;
            try { dir.symlink('../..', at); done++; } catch { continue; }
            try { dir.unlinkFile(at); } catch {}
          }
        } else {
          for (let n = 0; n < 2000; n++) {
            dir.createDirectory('d/s' + n);
            Atomics.store(flags, 0, n);
            for (let attempt = 0; attempt < 100; attempt++) {
              try { dir.rename('d/s' + n, dir, 'u' + n); done++; break; } catch {}
            }
          }
          Atomics.store(flags, 1, 1);
        }
        dir.close();
        parentPort.postMessage(done);
      })();`;
    const race = (role: string) => new Promise<number>((resolve, reject) => {
      const worker = new Worker(body, { eval: true, workerData: { root, role, flags, modules } });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const [links, moves] = await Promise.all([race('links'), race('mover')]);
    assert.ok(links > 0 && moves > 0, `${links} links made, ${moves} directories moved up`);
    assert.deepEqual(linksLeadingOut(root), []);
  });

  it('refuses targets that climb out from the link\'s own directory, and leaves the host tree clean', (t) => {
    const { dir, root, outside } = setup(t);
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    const attempts: Array<[string, string]> = [
      ['../outside', 'g1'],
      ['../outside/secret', 'g2'],
      ['..', 'g3'],
      ['./../outside', 'g4'],
      ['a/../../outside', 'g5'],
      ['../../outside', 'a/g6'],
      ['../../../outside', 'a/b/g7'],
      ['../a/../../outside', 'a/g8'],
      // `..` after a name climbs from wherever that name leads on the host: never accepted.
      ['a/b/../..', 'g9'],
      ['b/..', 'a/g10'],
    ];
    for (const [target, link] of attempts) assert.equal(errnoOf(() => dir.symlink(target, link)), Errno.PERM, `${link} -> ${target}`);
    // Links that stay inside are still made, dangling ones included.
    dir.symlink('a/b', 'down');
    dir.symlink('../b', 'a/sibling-of-b');
    dir.symlink('../../a', 'a/b/up-to-a');
    dir.symlink('../not-yet', 'a/dangling');
    assert.deepEqual(linksLeadingOut(root), []);
    assert.deepEqual(readdirSync(root).sort(), ['a', 'down']);
    assertOutsideUntouched(outside);
  });

  it('refuses moving or hard-linking a link to where its target would climb out', (t) => {
    const { dir, root, outside } = setup(t);
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    dir.symlink('../../x', 'a/b/l');
    dir.symlink('../x', 'a/m');
    assert.equal(errnoOf(() => dir.rename('a/b/l', dir, 'l')), Errno.PERM);
    assert.equal(errnoOf(() => dir.rename('a/b/l', dir, 'a/l')), Errno.PERM);
    assert.equal(errnoOf(() => dir.link('a/b/l', false, dir, 'l2')), Errno.PERM);
    assert.equal(errnoOf(() => dir.rename('a/m', dir, 'm')), Errno.PERM);
    // Deeper or level moves keep the target inside, and are fine.
    dir.rename('a/m', dir, 'a/b/m');
    dir.link('a/b/l', false, dir, 'a/b/l-again');
    assert.deepEqual(linksLeadingOut(root), []);
    assertOutsideUntouched(outside);
  });

  it('refuses moving a directory up when a link inside would then climb out', (t) => {
    const { dir, root, outside } = setup(t);
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    mkdirSync(join(root, 'p', 'q', 'r'), { recursive: true });
    dir.symlink('../../x', 'a/b/l');
    dir.symlink('../../../y', 'p/q/r/deep');
    assert.equal(errnoOf(() => dir.rename('a/b', dir, 'b')), Errno.PERM);
    assert.equal(errnoOf(() => dir.rename('p/q', dir, 'q')), Errno.PERM);
    assert.equal(errnoOf(() => dir.rename('p/q/r', dir, 'p/r')), Errno.PERM);
    // Level and deeper moves are fine, and so are moves of directories without climbing links.
    mkdirSync(join(root, 'c'));
    dir.rename('a', dir, 'a2');
    dir.rename('p/q', dir, 'c/q');
    mkdirSync(join(root, 'a2', 'b', 'plain'));
    dir.rename('a2/b/plain', dir, 'plain');
    assert.deepEqual(linksLeadingOut(root), []);
    assertOutsideUntouched(outside);
  });

  it('counts depth from the mount\'s root for links made through a subdirectory descriptor, even after it moved', (t) => {
    const { dir, root, outside } = setup(t);
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    const sub = dir.open('a/b', { ...read, directory: true }) as Directory;
    t.after(() => sub.close());
    sub.symlink('../../x', 'up-two');
    assert.equal(errnoOf(() => sub.symlink('../../../x', 'up-three')), Errno.PERM);
    assert.equal(errnoOf(() => dir.rename('a/b', dir, 'b')), Errno.PERM);
    sub.unlinkFile('up-two');
    dir.rename('a/b', dir, 'b');
    // The descriptor now sits one level down: two levels up would leave.
    assert.equal(errnoOf(() => sub.symlink('../../x', 'up-two')), Errno.PERM);
    sub.symlink('../x', 'up-one');
    assert.deepEqual(linksLeadingOut(root), []);
    assertOutsideUntouched(outside);
  });
});

describe('read-only preopens', () => {
  it('refuse every mutation, including through truncate, rename, link and set_times', (t) => {
    const { dir, root } = setup(t, true);
    writeFileSync(join(root, 'f'), 'keep');
    mkdirSync(join(root, 'd'));
    const attempts: Array<[string, () => unknown]> = [
      ['open with truncate', () => dir.open('f', { ...read, truncate: true, write: true })],
      ['open for write', () => dir.open('f', { ...read, write: true })],
      ['open for append', () => dir.open('f', { ...read, append: true, write: true })],
      ['create', () => dir.open('new', create)],
      ['mkdir', () => dir.createDirectory('nd')],
      ['rmdir', () => dir.removeDirectory('d')],
      ['unlink', () => dir.unlinkFile('f')],
      ['symlink', () => dir.symlink('f', 'l')],
      ['rename', () => dir.rename('f', dir, 'g')],
      ['link', () => dir.link('f', false, dir, 'h')],
      ['set_times at', () => dir.setTimesAt('f', true, { kind: 'now' }, { kind: 'now' })],
    ];
    for (const [name, attempt] of attempts) assert.equal(errnoOf(attempt), Errno.ROFS, name);
    // Through descriptors of the mount, Wasmtime 49's answers: EPERM for set_times/set_size, EBADF for writes.
    assert.equal(errnoOf(() => dir.setTimes({ kind: 'now' }, { kind: 'now' })), Errno.PERM);
    const file = dir.open('f', read) as File;
    assert.equal(errnoOf(() => file.write(Uint8Array.of(1), null, 0, 1)), Errno.BADF);
    assert.equal(errnoOf(() => file.write(Uint8Array.of(1), 0n, 0, 1)), Errno.BADF);
    assert.equal(errnoOf(() => file.setSize(0n)), Errno.PERM);
    assert.equal(errnoOf(() => file.allocate(0n, 10n)), Errno.NOTSUP);
    file.close();
    const sub = dir.open('d', { ...read, directory: true }) as Directory;
    assert.equal(sub.readOnly, true);
    assert.equal(errnoOf(() => sub.createDirectory('x')), Errno.ROFS);
    assert.equal(errnoOf(() => sub.setTimes({ kind: 'set', ns: 0n }, { kind: 'set', ns: 0n })), Errno.PERM);
    sub.close();
    assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'keep');
    assert.deepEqual(readdirSync(root).sort(), ['d', 'f']);
  });

  it('keep host timestamps: set_times through a file or directory descriptor changes nothing', (t) => {
    const { dir, root } = setup(t, true);
    writeFileSync(join(root, 'f'), 'keep');
    mkdirSync(join(root, 'd'));
    const old = new Date('2020-01-01T00:00:00Z');
    for (const name of ['f', 'd', '.']) utimesSync(join(root, name), old, old);
    const file = dir.open('f', read) as File;
    const sub = dir.open('d', { ...read, directory: true }) as Directory;
    const set = { kind: 'set', ns: 1_700_000_000_000_000_000n } as const;
    for (const target of [file, sub, dir]) {
      assert.equal(errnoOf(() => target.setTimes(set, set)), Errno.PERM);
      assert.equal(errnoOf(() => target.setTimes({ kind: 'now' }, { kind: 'now' })), Errno.PERM);
    }
    assert.equal(errnoOf(() => file.setSize(100n)), Errno.PERM);
    file.close();
    sub.close();
    for (const name of ['f', 'd', '.']) assert.equal(statSync(join(root, name)).mtimeMs, old.getTime(), name);
    assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'keep');
  });

  it('refuse linking a read-only file into a writable mount', (t) => {
    const ro = setup(t, true);
    writeFileSync(join(ro.root, 'f'), 'keep');
    const rwRoot = tempDir(t);
    const rw = hostDirectory(rwRoot, { quota: ro.quota, now: () => 0n });
    t.after(() => rw.close());
    assert.equal(errnoOf(() => ro.dir.link('f', false, rw, 'writable-alias')), Errno.ROFS);
    assert.equal(errnoOf(() => ro.dir.rename('f', rw, 'moved')), Errno.ROFS);
    assert.deepEqual(readdirSync(rwRoot), []);
  });

  it('names a link that leads outside, never its target: trailing slashes, timestamps, new names', (t) => {
    const { dir, root, outside } = setup(t);
    symlinkSync('../outside/secret', join(root, 'file-out'));
    symlinkSync('../outside', join(root, 'dir-out'));
    const secretTimes = lstatSync(join(outside, 'secret'), { bigint: true });
    // Without following, a trailing slash still names the link itself (as Wasmtime 49); following is refused.
    assert.equal(dir.statAt('file-out/', false).filetype, 7);
    assert.equal(dir.statAt('dir-out//', false).filetype, 7);
    assert.equal(errnoOf(() => dir.statAt('dir-out/', true)), Errno.PERM);
    // Times set without following land on the link; through it, or with a slash after it, nothing is set.
    dir.setTimesAt('file-out', false, { kind: 'set', ns: 5_000_000_005n }, { kind: 'set', ns: 5_000_000_005n });
    assert.equal(lstatSync(join(root, 'file-out'), { bigint: true }).mtimeNs, timestampPrecisionNs() === 1 ? 5_000_000_005n : 5_000_000_000n);
    assert.notEqual(errnoOf(() => dir.setTimesAt('file-out', true, { kind: 'now' }, { kind: 'now' })), Errno.SUCCESS);
    assert.notEqual(errnoOf(() => dir.setTimesAt('dir-out/', false, { kind: 'now' }, { kind: 'now' })), Errno.SUCCESS);
    assert.notEqual(errnoOf(() => dir.setTimesAt('dir-out/secret', false, { kind: 'now' }, { kind: 'now' })), Errno.SUCCESS);
    const after = lstatSync(join(outside, 'secret'), { bigint: true });
    assert.equal(after.mtimeNs, secretTimes.mtimeNs);
    assert.equal(after.atimeNs, secretTimes.atimeNs);
    // A new name with a trailing slash is never made, whatever it would hold.
    assert.equal(errnoOf(() => dir.link('file-out', false, dir, 'alias/')), Errno.NOENT);
    assert.notEqual(errnoOf(() => dir.symlink('../outside', 'planted/')), Errno.SUCCESS);
    assert.notEqual(errnoOf(() => dir.symlink('x', 'dir-out/planted')), Errno.SUCCESS);
    assert.deepEqual(readdirSync(root).sort(), ['dir-out', 'file-out']);
    assertOutsideUntouched(outside);
  });
});

describe('quotas', () => {
  it('EDQUOT past the bytes-written and files-created limits, recording the hit', (t) => {
    const root = tempDir(t);
    const quota = createQuota({ maxWriteBytes: 10, maxFilesCreated: 2 });
    const dir = hostDirectory(root, { quota, now: () => 0n });
    t.after(() => dir.close());
    const f = dir.open('a', create) as File;
    assert.equal(f.write(new Uint8Array(8), null, 0, 8), 8);
    assert.equal(f.write(new Uint8Array(8), null, 0, 8), 2);
    assert.equal(errnoOf(() => f.write(new Uint8Array(1), null, 0, 1)), Errno.DQUOT);
    assert.equal(errnoOf(() => f.setSize(1000n)), Errno.DQUOT);
    f.close();
    // A directory is storage too (its block), refused once the write quota is spent.
    assert.equal(errnoOf(() => dir.createDirectory('d')), Errno.DQUOT);
    (dir.open('b', create) as File).close();
    assert.equal(errnoOf(() => dir.open('c', create)), Errno.DQUOT);
    assert.deepEqual([...quota.hits].sort(), ['max-files', 'max-write']);
    assert.deepEqual(readdirSync(root).sort(), ['a', 'b']);
  });

  it('charges pages, not bytes: one byte in every 4 KiB page stops at the quota (disk and tmpfs)', (t) => {
    const bases = [tempDir(t)];
    if (existsSync('/dev/shm')) {
      const shm = mkdtempSync('/dev/shm/warden-test-');
      t.after(() => rmSync(shm, { recursive: true, force: true }));
      bases.push(shm);
    }
    for (const root of bases) {
      const quota = createQuota({ maxWriteBytes: 64 * 1024, maxFilesCreated: 100 });
      const dir = hostDirectory(root, { quota, now: () => 0n });
      const f = dir.open('sparse', create) as File;
      let written = 0;
      for (let page = 0; page < 65_536; page++) {
        if (errnoOf(() => f.write(Uint8Array.of(1), BigInt(page) * 4096n, 0, 1)) !== Errno.SUCCESS) break;
        written++;
      }
      f.close();
      dir.close();
      assert.ok(written > 0 && written <= 17, `${root}: ${written} pages written`);
      // What the host keeps: at most the quota plus one page for the one file created.
      const kept = hostTreeBlocks(root) * 512;
      assert.ok(kept <= 64 * 1024 + 4096, `${root}: ${kept} bytes allocated`);
      assert.deepEqual([...quota.hits], ['max-write']);
    }
  });

  it('refuses sparse writes that would make a huge apparent size: pwrite at 1 TiB, seek to 2 TiB', (t) => {
    const root = tempDir(t);
    const quota = createQuota({ maxWriteBytes: 1 << 20, maxFilesCreated: 100 });
    const dir = hostDirectory(root, { quota, now: () => 0n });
    t.after(() => dir.close());
    const f = dir.open('huge', create) as File;
    assert.equal(errnoOf(() => f.write(Uint8Array.of(1), 1n << 40n, 0, 1)), Errno.DQUOT);
    f.seek(2n << 40n, 0);
    assert.equal(errnoOf(() => f.write(Uint8Array.of(1), null, 0, 1)), Errno.DQUOT);
    assert.equal(errnoOf(() => f.setSize(1n << 40n)), Errno.DQUOT);
    // Within the quota, a sparse write is charged for the size it makes.
    assert.equal(f.write(Uint8Array.of(1), 512n * 1024n, 0, 1), 1);
    assert.ok(quota.writtenBytes >= 512 * 1024);
    f.close();
    assert.ok(statSync(join(root, 'huge')).size <= 1 << 20);
  });

  it('bounds nested directories, files and symlink floods by the same quota', (t) => {
    const root = tempDir(t);
    const before = hostTreeBlocks(root);
    const quota = createQuota({ maxWriteBytes: 64 * 1024, maxFilesCreated: 100_000 });
    const dir = hostDirectory(root, { quota, now: () => 0n });
    t.after(() => dir.close());
    // Deep nesting: each level a directory holding a file written sparsely, all under one quota.
    let path = '';
    let created = 0;
    let levels = 0;
    for (; levels < 64; levels++) {
      const next = `${path}d${levels}`;
      if (errnoOf(() => dir.createDirectory(next)) !== Errno.SUCCESS) break;
      created++;
      path = `${next}/`;
      let f: File;
      try {
        f = dir.open(`${path}f`, create) as File;
      } catch {
        break;
      }
      created++;
      for (let page = 0; page < 4; page++) if (errnoOf(() => f.write(Uint8Array.of(1), BigInt(page) * 8192n, 0, 1)) !== Errno.SUCCESS) break;
      f.close();
    }
    assert.ok(levels < 64, 'nesting never hit the quota');
    // Then floods of directories and of long symlink targets.
    let dirs = 0;
    while (dirs < 10_000 && errnoOf(() => dir.createDirectory(`flood-${dirs}`)) === Errno.SUCCESS) dirs++;
    let links = 0;
    const target = 'a/'.repeat(1000) + 'x';
    while (links < 10_000 && errnoOf(() => dir.symlink(target, `link-${links}`)) === Errno.SUCCESS) links++;
    created += dirs + links;
    assert.ok(quota.writtenBytes <= 64 * 1024);
    const kept = (hostTreeBlocks(root) - before) * 512;
    assert.ok(kept <= 64 * 1024 + 4096 * created, `${kept} bytes allocated for ${created} names`);
    assert.ok(dirs < 16, `${dirs} directories`);
    assert.ok(links < 32, `${links} symlinks`);
    assert.ok(quota.hits.has('max-write'));
  });

  it('charges nothing for rewriting a file it wrote, and only growth for an existing file', (t) => {
    const root = tempDir(t);
    writeFileSync(join(root, 'existing'), new Uint8Array(100_000));
    const quota = createQuota({ maxWriteBytes: 64 * 1024, maxFilesCreated: 10 });
    const dir = hostDirectory(root, { quota, now: () => 0n });
    t.after(() => dir.close());
    const f = dir.open('existing', { ...read, write: true }) as File;
    for (let i = 0; i < 50; i++) assert.equal(f.write(new Uint8Array(4096), BigInt(i) * 1000n, 0, 4096), 4096);
    assert.equal(quota.writtenBytes, 0);
    f.close();
    const g = dir.open('new', create) as File;
    for (let round = 0; round < 20; round++) for (let i = 0; i < 8; i++) assert.equal(g.write(new Uint8Array(4096), BigInt(i) * 4096n, 0, 4096), 4096);
    assert.equal(quota.writtenBytes, 8 * 4096);
    g.close();
  });

  it('leaks no descriptors over thousands of operations', (t) => {
    const { dir, root } = setup(t);
    mkdirSync(join(root, 'a', 'b', 'c'), { recursive: true });
    symlinkSync('a/b', join(root, 'l'));
    const before = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 2000; i++) {
      errnoOf(() => dir.open('l/c/../c/x', create));
      errnoOf(() => dir.statAt('a/b/c/../../../..', true));
      errnoOf(() => dir.unlinkFile('l/c/x'));
    }
    assert.equal(readdirSync('/proc/self/fd').length, before);
  });
});
