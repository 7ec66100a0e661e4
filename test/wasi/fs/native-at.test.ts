// One-name operations go through the native helper (openat, fstatat, fstat,
// unlinkat) when it is built, else through Node on /proc/self/fd. Both ways
// must answer alike on every kind of entry: each case runs on identical fresh
// trees with the helper on and off and compares what came back and what the
// host trees hold after. The helper itself refuses anything but one plain
// name and never follows a final link, whatever its caller passes.

import assert from 'node:assert/strict';
import { closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closeFd, fstatShape, lstatAt, nativeAtAvailable, openAt, readAt, unlinkAt, useNativeAt, writeAt } from '../../../src/wasi/fs/native-at.js';
import { tempDir } from '../../helpers/tmp.js';
import { entryTrees, plantEntries } from '../../helpers/entry-tree.js';
import { timestampPrecisionNs } from '../../../src/wasi/fs/timestamps.js';
import { nativeWatchdogAvailable } from '../../../src/wasi/watchdog.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** Every kind of entry one name can be. */
const names = ['file', 'dir', 'fifo', 'not-there', 'link-file', 'link-dir', 'link-dangling', 'link-out', 'link-loop', 'link-chain'];

/** How the host directory opens names (always O_NOFOLLOW and O_NONBLOCK). */
const openModes: Record<string, [number, number?]> = {
  read: [O_RDONLY],
  write: [O_WRONLY],
  'read-write': [O_RDWR],
  truncate: [O_WRONLY | O_TRUNC],
  create: [O_WRONLY | O_CREAT | O_EXCL, 0o644],
  directory: [O_RDONLY | O_DIRECTORY],
};

function plant(t: Parameters<typeof tempDir>[0]) {
  const { root, outside } = plantEntries(t, { fifo: true });
  const dirFd = openSync(root, O_RDONLY | O_DIRECTORY);
  t.after(() => closeSync(dirFd));
  return { root, outside, dirFd };
}

const trees = entryTrees;

/** What a call answered (its value, or the code of what it threw) and the trees after it. */
function outcome(t: Parameters<typeof tempDir>[0], native: boolean, call: (dirFd: number) => unknown): string {
  const { root, outside, dirFd } = plant(t);
  useNativeAt(native);
  let answer: string;
  try {
    answer = JSON.stringify(call(dirFd), (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
  } catch (error) {
    answer = `threw ${(error as NodeJS.ErrnoException).code}`;
  } finally {
    useNativeAt(true);
  }
  return `${answer} | ${trees(root, outside)}`;
}

/** The same call with the helper and without. */
function bothWays(t: Parameters<typeof tempDir>[0], call: (dirFd: number) => unknown): [string, string] {
  return [outcome(t, true, call), outcome(t, false, call)];
}

/** What an open gave, beyond the descriptor's number: its shape, and a stat of the same name. */
function opened(fd: number): unknown {
  try {
    return fstatShape(fd);
  } finally {
    // To whoever opened it: the helper keeps its own until they are closed through it.
    closeFd(fd);
  }
}

const helperPath = fileURLToPath(new URL('../../../native/fs-at.node', import.meta.url));

describe('one-name operations with the native helper and through Node', () => {
  it('the native helpers are built in CI, where .ci/run installs the compiler (else the skips below would hide a broken build)', (t) => {
    if (process.env.CI !== 'true') {
      t.skip('not in CI');
      return;
    }
    assert.ok(nativeAtAvailable(), 'dist/native/fs-at.node is built and loads');
    assert.equal(timestampPrecisionNs(), 1, 'dist/native/timestamps.node is built and loads');
    assert.ok(nativeWatchdogAvailable(), 'dist/native/watchdog.node is built (c++) and loads');
    const random = { exports: {} as { fill?: unknown } };
    process.dlopen(random, fileURLToPath(new URL('../../../native/random.node', import.meta.url)));
    assert.equal(typeof random.exports.fill, 'function', 'dist/native/random.node is built and loads');
  });

  it('answer alike for every kind of entry', (t) => {
    if (!nativeAtAvailable()) {
      t.skip('the native helper is not built here (no C compiler or Node headers)');
      return;
    }
    for (const name of names) {
      for (const [mode, [flags, fileMode]] of Object.entries(openModes)) {
        const [native, node] = bothWays(t, (dirFd) => opened(openAt(dirFd, name, flags | O_NOFOLLOW | O_NONBLOCK, fileMode)));
        assert.equal(native, node, `open ${name} (${mode})`);
      }
      // Stats are compared whole: dev, ino, nlink, size and the three times to the nanosecond.
      const { dirFd } = plant(t);
      useNativeAt(true);
      const viaHelper = lstatAt(dirFd, name);
      useNativeAt(false);
      const viaNode = lstatAt(dirFd, name);
      useNativeAt(true);
      assert.deepEqual(viaHelper, viaNode, `lstat ${name}`);
      const [native, node] = bothWays(t, (dirFd) => unlinkAt(dirFd, name));
      assert.equal(native, node, `unlink ${name}`);
    }
  });

  it('answer alike for what an open descriptor is', (t) => {
    if (!nativeAtAvailable()) {
      t.skip('the native helper is not built here (no C compiler or Node headers)');
      return;
    }
    const { root } = plant(t);
    for (const name of ['file', 'dir']) {
      const fd = openSync(join(root, name), O_RDONLY);
      t.after(() => closeSync(fd));
      useNativeAt(true);
      const viaHelper = fstatShape(fd);
      useNativeAt(false);
      const viaNode = fstatShape(fd);
      useNativeAt(true);
      assert.deepEqual(viaHelper, viaNode, name);
    }
  });

  it('read and write alike, at positions, and fail alike', (t) => {
    if (!nativeAtAvailable()) {
      t.skip('the native helper is not built here (no C compiler or Node headers)');
      return;
    }
    const io = (dirFd: number): unknown => {
      const results: unknown[] = [];
      const attempt = (call: () => unknown): void => {
        try {
          results.push(call());
        } catch (error) {
          results.push(`threw ${(error as NodeJS.ErrnoException).code}`);
        }
      };
      const rw = openAt(dirFd, 'file', O_RDWR | O_NOFOLLOW);
      const ro = openAt(dirFd, 'target', O_RDONLY | O_NOFOLLOW);
      const wo = openAt(dirFd, 'target', O_WRONLY | O_NOFOLLOW);
      const dir = openAt(dirFd, 'dir', O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        const bytes = new TextEncoder().encode('abcdefgh');
        attempt(() => writeAt(rw, bytes, 0, 8, 2));
        attempt(() => writeAt(rw, bytes, 3, 2, 100));
        for (const position of [0n, 3n, 101n, 500n]) {
          const into = new Uint8Array(6);
          attempt(() => [readAt(rw, into, 1, 5, position), [...into]]);
        }
        attempt(() => writeAt(ro, bytes, 0, 1, 0));
        attempt(() => readAt(wo, new Uint8Array(1), 0, 1, 0n));
        attempt(() => readAt(dir, new Uint8Array(1), 0, 1, 0n));
      } finally {
        for (const fd of [rw, ro, wo, dir]) closeFd(fd);
      }
      return results;
    };
    const [native, node] = bothWays(t, io);
    assert.equal(native, node);
    assert.match(native, /threw EBADF/);
  });

  it('the helper closes only what it opened, and answers for it from any load on the thread', (t) => {
    if (!existsSync(helperPath)) {
      t.skip('the native helper is not built here (no C compiler or Node headers)');
      return;
    }
    type Helper = { openAt(dirFd: number, name: string, flags: number, mode: number): number; close(fd: number): number };
    // Two loads of the same file (each has an N-API environment of its own), as two bundles on one thread would.
    const load = (): Helper => {
      const module = { exports: {} as Helper };
      process.dlopen(module, helperPath);
      return module.exports;
    };
    const [first, second] = [load(), load()];
    const { root, dirFd } = plant(t);
    const theirs = openSync(join(root, 'file'), O_RDONLY);
    t.after(() => closeSync(theirs));
    // A descriptor Node opened is not the helper's: 1, and it stays open.
    assert.equal(first.close(theirs), 1);
    assert.doesNotThrow(() => fstatShape(theirs));
    const mine = first.openAt(dirFd, 'file', O_RDONLY, 0);
    assert.ok(mine >= 0);
    assert.equal(second.close(mine), 0, 'the other load knew it');
    assert.equal(first.close(mine), 1, 'closed once: no longer the helper\'s');
  });

  it('the helper refuses anything but one plain name, and never follows a final link', (t) => {
    if (!existsSync(helperPath)) {
      t.skip('the native helper is not built here (no C compiler or Node headers)');
      return;
    }
    const helper = createRequire(import.meta.url)(helperPath) as {
      openAt(dirFd: number, name: string, flags: number, mode: number): number;
      lstatAt(dirFd: number, name: string, slots: Float64Array): number;
      unlinkAt(dirFd: number, name: string): number;
      pread(fd: number, target: Uint8Array, offset: number, length: number, position: number): number;
      pwrite(fd: number, source: Uint8Array, offset: number, length: number, position: number): number;
      close(fd: number): number;
    };
    const { root, outside, dirFd } = plant(t);
    const slots = new Float64Array(10);
    const before = trees(root, outside);
    const { EINVAL: einval, ENAMETOOLONG, ELOOP } = osConstants.errno;
    const EINVAL = -einval;
    for (const name of ['..', '.', '', '../outside/secret', 'dir/../../outside/secret', 'dir/', 'a\0b', '/etc/passwd']) {
      assert.equal(helper.openAt(dirFd, name, O_RDONLY, 0), EINVAL, `open ${JSON.stringify(name)}`);
      assert.equal(helper.openAt(dirFd, name, O_WRONLY | O_CREAT, 0o644), EINVAL, `create ${JSON.stringify(name)}`);
      assert.equal(helper.lstatAt(dirFd, name, slots), EINVAL, `lstat ${JSON.stringify(name)}`);
      assert.equal(helper.unlinkAt(dirFd, name), EINVAL, `unlink ${JSON.stringify(name)}`);
    }
    assert.equal(helper.openAt(dirFd, 'x'.repeat(256), O_RDONLY, 0), -ENAMETOOLONG);
    // 86 three-byte characters are 258 bytes: too long as a whole, never cut to the 85 that fit
    // (which would create a file of another name).
    const long = '\u20ac'.repeat(86);
    assert.equal(helper.openAt(dirFd, long, O_WRONLY | O_CREAT, 0o644), -ENAMETOOLONG);
    assert.equal(helper.lstatAt(dirFd, long, slots), -ENAMETOOLONG);
    assert.equal(helper.unlinkAt(dirFd, long), -ENAMETOOLONG);
    // No O_NOFOLLOW asked for: added anyway, so a link (here one leading out) is ELOOP, never opened.
    assert.equal(helper.openAt(dirFd, 'link-out', O_RDONLY, 0), -ELOOP);
    assert.equal(helper.openAt(dirFd, 'link-out', O_WRONLY | O_TRUNC, 0), -ELOOP);
    // A read or write past the end of the buffer it was given is refused before any I/O.
    const rw = helper.openAt(dirFd, 'file', O_RDWR, 0);
    t.after(() => assert.equal(helper.close(rw), 0));
    const small = new Uint8Array(4);
    assert.equal(helper.pwrite(rw, small, 2, 3, 0), EINVAL);
    assert.equal(helper.pread(rw, small, 0, 5, 0), EINVAL);
    assert.equal(helper.pread(rw, small, -1, 2, 0), EINVAL);
    assert.equal(helper.pwrite(rw, small.subarray(2), 0, 3, 0), EINVAL);
    assert.equal(helper.pread(rw, small, 0, 4, -1), EINVAL);
    assert.equal(trees(root, outside), before);
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'SECRET');
  });
});
