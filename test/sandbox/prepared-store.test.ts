// The on-disk prepared-module cache: a hit is what a fresh preparation gives;
// an entry that was tampered with, truncated, or swapped for another key's is
// a miss (said with the log, never trusted) and is written afresh; the store
// is bounded by size, least recently used first; concurrent writers leave one
// whole entry; `warden run --no-cache` leaves it alone.

import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/policy.js';
import { configHash, prepareConfig } from '../../src/sandbox/prepare-config.js';
import { buildId, PreparedCache, digestFor, type LoadOptions } from '../../src/sandbox/prepared-cache.js';
import { PreparedStore } from '../../src/sandbox/prepared-store.js';
import { AdmissionError, digestOf, prepareWith } from '../../src/sandbox/prepare.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';
import { growSource } from './grow-module.js';

const grow = await wat(growSource());
const policy = (memory: '256KiB' | '512KiB'): Policy => parsePolicy({ limits: { memory }, isolation: 'none' });

/** A store in a fresh directory, its log lines, and a way to prepare through it with a fresh memory cache (so the disk is asked). */
function setup(t: Parameters<typeof tempDir>[0], maxBytes?: number) {
  const dir = join(tempDir(t), 'prepared');
  const log: string[] = [];
  const store = new PreparedStore({ dir, log: (line) => log.push(line), ...(maxBytes ? { maxBytes } : {}) });
  const get = (bytes: Uint8Array, p: Policy, options: LoadOptions = {}) => {
    // As a long-lived sandbox (run, below) prepares: its memory lent by the host.
    const config = prepareConfig(p, [], null, true);
    return new PreparedCache().get(bytes, config, configHash(config), store, options);
  };
  const entryPath = (bytes: Uint8Array, p: Policy) => store.pathOf({ digest: digestFor(bytes), config: configHash(prepareConfig(p, [], null, true)), version: buildId() });
  /** Runs `bytes` in a fresh sandbox on a fresh memory cache over this directory: its exit code. */
  const run = async (bytes: Uint8Array, p: Policy) => {
    const sandbox = await createSandbox(p, { cache: new PreparedCache(), cacheDir: { dir, log: (line) => log.push(line) } });
    try {
      return (await sandbox.run(bytes)).exitCode;
    } finally {
      await sandbox.close();
    }
  };
  return { dir, log, store, get, entryPath, run };
}

/**
 * Offset of the rewritten memory's maximum (min 1 page, max 4) among an entry's literal bytes: in the
 * memory section (a one-shot CLI run), or in the import of a memory lent by the host (a long-lived sandbox).
 */
function memorySectionMax(entry: Uint8Array): number {
  for (const limits of [[0x05, 0x04, 0x01, 0x01, 0x01, 0x04], [0x06, ...Buffer.from('memory'), 0x02, 0x01, 0x01, 0x04]]) {
    const at = Buffer.from(entry).indexOf(Buffer.from(limits));
    if (at > 0) return at + limits.length - 1;
  }
  assert.fail('the rewritten memory is in the entry');
}

/** A copy of `bytes` in a buffer `room` bytes longer, as `warden run` reads a module. */
function withRoom(bytes: Uint8Array, room: number): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer(bytes.length + room), 0, bytes.length);
  copy.set(bytes);
  return copy;
}

describe('prepared-module cache on disk', () => {
  it('a hit gives what a fresh preparation gives, rewritten code included, and the entry holds only what the rewrite changed', async (t) => {
    const { get, entryPath } = setup(t);
    const strict = parsePolicy({ limits: { memory: '256KiB', fuel: 100000, timeout: '5s' }, harden: ['stack'] });
    const fresh = prepareWith(grow, prepareConfig(strict, [], null, true));
    assert.equal((await get(grow, strict)).source, 'prepared');
    const hit = await get(grow, strict);
    assert.equal(hit.source, 'disk');
    assert.equal(Buffer.compare(hit.bytes, fresh.bytes), 0);
    assert.deepEqual({ ...hit, bytes: null, compiled: null, key: null, source: null }, { ...fresh, bytes: null, compiled: null, key: null, source: null, digest: fresh.digest });
    // The default rewrite (the memory maximum) changes one section of a module: the entry holds that section, not the module.
    await get(grow, policy('256KiB'));
    const size = statSync(entryPath(grow, policy('256KiB'))).size;
    const header = readFileSync(entryPath(grow, policy('256KiB')));
    assert.ok(header.includes(Buffer.from('"verdict":"admitted"')));
    assert.ok(size < 1024, `${size} bytes`);
  });

  it('a module the rewrite leaves alone is stored as a range of the original, and comes back whole', async (t) => {
    const { get, entryPath } = setup(t);
    const plain = await wat('(module (func (export "_start")))');
    const p = policy('256KiB');
    const fresh = prepareWith(plain, prepareConfig(p, [], null));
    assert.equal((await get(plain, p)).source, 'prepared');
    const hit = await get(plain, p);
    assert.equal(hit.source, 'disk');
    assert.equal(Buffer.compare(hit.bytes, fresh.bytes), 0);
    assert.ok(statSync(entryPath(plain, p)).size < 512);
  });

  it('a hit on bytes given over is built over them, in their buffer\'s room, byte for byte what a copy gives', async (t) => {
    const { get } = setup(t);
    const p = policy('256KiB');
    const fresh = prepareWith(grow, prepareConfig(p, [], null, true));
    assert.ok(fresh.bytes.length > grow.length, 'the rewrite adds bytes (a memory maximum)');
    assert.equal((await get(grow, p)).source, 'prepared');
    const given = withRoom(grow, 1024);
    const hit = await get(given, p, { overwriteBytes: true });
    assert.equal(hit.source, 'disk');
    assert.equal(hit.bytes.buffer, given.buffer, 'built in the given buffer');
    assert.equal(Buffer.compare(hit.bytes, fresh.bytes), 0);
    // Not given over: the caller's bytes stay as they were.
    const kept = withRoom(grow, 1024);
    const copy = await get(kept, p);
    assert.notEqual(copy.bytes.buffer, kept.buffer);
    assert.equal(Buffer.compare(kept, grow), 0);
    assert.equal(Buffer.compare(copy.bytes, fresh.bytes), 0);
  });

  it('a hit on bytes given over without room in their buffer is built in a copy', async (t) => {
    const { get } = setup(t);
    const p = policy('256KiB');
    await get(grow, p);
    const given = withRoom(grow, 0);
    const hit = await get(given, p, { overwriteBytes: true });
    assert.equal(hit.source, 'disk');
    assert.notEqual(hit.bytes.buffer, given.buffer);
    assert.equal(Buffer.compare(given, grow), 0);
    assert.equal(Buffer.compare(hit.bytes, prepareWith(grow, prepareConfig(p, [], null, true)).bytes), 0);
  });

  it('a tampered entry leaves bytes given over untouched: the miss prepares them as shipped', async (t) => {
    const { get, entryPath, log } = setup(t);
    const p = policy('256KiB');
    await get(grow, p);
    const path = entryPath(grow, p);
    const entry = readFileSync(path);
    entry[memorySectionMax(entry)] = 100;
    writeFileSync(path, entry);
    const given = withRoom(grow, 1024);
    const again = await get(given, p, { overwriteBytes: true });
    assert.equal(again.source, 'prepared');
    assert.ok(log.some((line) => line.includes('its MAC does not match')), log.join('\n'));
    assert.equal(Buffer.compare(given, grow), 0);
    assert.equal(Buffer.compare(again.bytes, prepareWith(grow, prepareConfig(p, [], null, true)).bytes), 0);
  });

  it('a module prepared afresh on bytes given over is laid over them: the same bytes and entry as in a copy, and a hit gives them back', async (t) => {
    for (const p of [policy('256KiB'), parsePolicy({ limits: { memory: '256KiB', fuel: 100000, timeout: '5s' } })]) {
      const { get, entryPath } = setup(t);
      const fresh = prepareWith(grow, prepareConfig(p, [], null, true));
      const given = withRoom(grow, 64 * 1024);
      const prepared = await get(given, p, { overwriteBytes: true, prepareInline: true });
      assert.equal(prepared.source, 'prepared');
      assert.equal(prepared.bytes.buffer, given.buffer, 'laid over the given bytes');
      assert.equal(Buffer.compare(prepared.bytes, fresh.bytes), 0);
      const entry = readFileSync(entryPath(grow, p));
      const hit = await get(Uint8Array.from(grow), p);
      assert.equal(hit.source, 'disk');
      assert.equal(Buffer.compare(hit.bytes, fresh.bytes), 0);
      // The entry is the one a copy writes (the same patch), its MAC under the same key aside.
      rmSync(entryPath(grow, p));
      await get(Uint8Array.from(grow), p, { prepareInline: true });
      const copied = readFileSync(entryPath(grow, p));
      assert.equal(Buffer.compare(entry.subarray(0, entry.length - 32), copied.subarray(0, copied.length - 32)), 0);
    }
  });

  it('a module laid over bytes given over keeps the digest of the module as shipped', () => {
    const given = withRoom(grow, 1024);
    const prepared = prepareWith(given, prepareConfig(policy('256KiB'), [], null, false), undefined, true);
    assert.equal(prepared.bytes.buffer, given.buffer, 'laid over the given bytes');
    assert.notEqual(Buffer.compare(given, grow), 0, 'which no longer hold the module');
    assert.equal(prepared.digest, digestOf(grow));
  });

  it('a refusal is stored and given back as the same refusal', async (t) => {
    const { get, entryPath } = setup(t);
    const refusing = parsePolicy({ limits: { memory: '256KiB', functions: 0 } });
    const first = await get(grow, refusing).catch((e: unknown) => e);
    assert.ok(first instanceof AdmissionError);
    assert.ok(readFileSync(entryPath(grow, refusing)).includes(Buffer.from('"verdict":"refused"')));
    const second = await get(grow, refusing).catch((e: unknown) => e);
    assert.ok(second instanceof AdmissionError);
    assert.deepEqual(second.violations, first.violations);
  });

  it('an entry whose rewritten memory maximum was raised is not trusted: the run keeps the policy\'s limit, and the entry is written afresh', async (t) => {
    const { log, entryPath, run, get } = setup(t);
    assert.equal(await run(grow, policy('256KiB')), 4);
    const path = entryPath(grow, policy('256KiB'));
    const entry = readFileSync(path);
    // 4 pages → 100 pages, in place: were the entry trusted, the guest would grow to 100 pages.
    entry[memorySectionMax(entry)] = 100;
    writeFileSync(path, entry);
    assert.equal(await run(grow, policy('256KiB')), 4);
    assert.ok(log.some((line) => line.includes(path) && line.includes('its MAC does not match')), log.join('\n'));
    assert.equal(readFileSync(path)[memorySectionMax(readFileSync(path))], 4, 'written afresh');
    assert.equal((await get(grow, policy('256KiB'))).source, 'disk');
  });

  it('a truncated entry is a miss, and is written afresh', async (t) => {
    const { log, entryPath, run, get } = setup(t);
    assert.equal(await run(grow, policy('256KiB')), 4);
    const path = entryPath(grow, policy('256KiB'));
    for (const keep of [40, 5, 0]) {
      writeFileSync(path, readFileSync(path).subarray(0, keep));
      assert.equal(await run(grow, policy('256KiB')), 4);
      assert.equal((await get(grow, policy('256KiB'))).source, 'disk');
    }
    assert.ok(log.filter((line) => line.includes('not used')).length >= 3, log.join('\n'));
  });

  it('an entry copied over another key\'s is a miss: the MAC is good, the key inside is not', async (t) => {
    const { log, entryPath, run } = setup(t);
    assert.equal(await run(grow, policy('256KiB')), 4);
    assert.equal(await run(grow, policy('512KiB')), 8);
    copyFileSync(entryPath(grow, policy('256KiB')), entryPath(grow, policy('512KiB')));
    assert.equal(await run(grow, policy('512KiB')), 8);
    assert.ok(log.some((line) => line.includes('written for another key')), log.join('\n'));
    // The same for the same policy over other bytes.
    const other = await wat(growSource('other'));
    assert.equal(await run(other, policy('256KiB')), 4);
    copyFileSync(entryPath(grow, policy('256KiB')), entryPath(other, policy('256KiB')));
    assert.equal(await run(other, policy('256KiB')), 4);
    assert.equal(log.filter((line) => line.includes('written for another key')).length, 2);
  });

  it('an entry that is a symlink is not followed', async (t) => {
    const { log, entryPath, run, dir } = setup(t);
    assert.equal(await run(grow, policy('256KiB')), 4);
    const path = entryPath(grow, policy('256KiB'));
    const elsewhere = join(dir, '..', 'elsewhere');
    copyFileSync(path, elsewhere);
    rmSync(path);
    symlinkSync(elsewhere, path);
    assert.equal(await run(grow, policy('256KiB')), 4);
    assert.ok(log.some((line) => line.includes('a symlink')), log.join('\n'));
  });

  it('is not used when its key file can be read by others', async (t) => {
    const { log, dir, run, entryPath } = setup(t);
    assert.equal(await run(grow, policy('256KiB')), 4);
    chmodSync(join(dir, 'mac.key'), 0o644);
    rmSync(entryPath(grow, policy('256KiB')));
    assert.equal(await run(grow, policy('256KiB')), 4);
    assert.ok(log.some((line) => line.includes('readable by others')), log.join('\n'));
    assert.ok(!existsSync(entryPath(grow, policy('256KiB'))), 'nothing written under a key others can read');
  });

  it('is bounded in total size, removing the least recently used entry first (a hit counts as a use)', async (t) => {
    const modules = await Promise.all(['e0', 'e1', 'e2', 'e3'].map((name) => wat(growSource(name))));
    const probe = setup(t);
    await probe.get(modules[0]!, policy('256KiB'));
    const entryBytes = statSync(probe.entryPath(modules[0]!, policy('256KiB'))).size;
    const { get, entryPath, dir } = setup(t, 3 * entryBytes + 32 + 10);
    const at = (i: number, seconds: number) => utimesSync(entryPath(modules[i]!, policy('256KiB')), seconds, seconds);
    for (const [i, m] of modules.slice(0, 3).entries()) {
      await get(m, policy('256KiB'));
      at(i, 1000 + i);
    }
    // e0, the oldest, is used: e1 becomes the least recently used.
    assert.equal((await get(modules[0]!, policy('256KiB'))).source, 'disk');
    await get(modules[3]!, policy('256KiB'));
    const kept = modules.map((m) => existsSync(entryPath(m, policy('256KiB'))));
    assert.deepEqual(kept, [true, false, true, true]);
    const total = readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    assert.ok(total <= 3 * entryBytes + 32 + 10, `${total} bytes on disk`);
  });
});

describe('warden run and the prepared-module cache', () => {
  it('concurrent runs of one module leave one whole entry and no temporary files', async (t) => {
    const data = tempDir(t);
    const file = join(data, 'grow.wasm');
    writeFileSync(file, grow);
    const results = await Promise.all(Array.from({ length: 4 }, () => runWarden(['run', '--data-dir', data, '--memory-limit', '256KiB', file])));
    for (const r of results) assert.equal(r.code, 4, r.stderr);
    const names = readdirSync(join(data, 'cache', 'prepared')).sort();
    assert.equal(names.length, 2, names.join(' '));
    assert.ok(names.includes('mac.key') && names.some((n) => n.endsWith('.prep')));
    const again = await runWarden(['run', '--debug', '--data-dir', data, '--memory-limit', '256KiB', file]);
    assert.equal(again.code, 4);
    assert.equal(again.stderr, '', 'the entry was used as it is');
  });

  it('a tampered entry is said with --debug and not used; --no-cache neither reads nor writes', async (t) => {
    const data = tempDir(t);
    const file = join(data, 'grow.wasm');
    writeFileSync(file, grow);
    assert.equal((await runWarden(['run', '--data-dir', data, '--memory-limit', '256KiB', file])).code, 4);
    const dir = join(data, 'cache', 'prepared');
    const path = join(dir, readdirSync(dir).find((n) => n.endsWith('.prep'))!);
    const entry = readFileSync(path);
    entry[memorySectionMax(entry)] = 100;
    writeFileSync(path, entry);
    const bypass = await runWarden(['run', '--no-cache', '--debug', '--data-dir', data, '--memory-limit', '256KiB', file]);
    assert.equal(bypass.code, 4);
    assert.equal(bypass.stderr, '');
    assert.equal(Buffer.compare(readFileSync(path), entry), 0, '--no-cache left the entry alone');
    const debug = await runWarden(['run', '--debug', '--data-dir', data, '--memory-limit', '256KiB', file]);
    assert.equal(debug.code, 4);
    assert.match(debug.stderr, /warden run: cache: .*\.prep: not used: its MAC does not match; removed, to be written afresh/);
    const fresh = tempDir(t);
    assert.equal((await runWarden(['run', '--no-cache', '--data-dir', fresh, '--memory-limit', '256KiB', file])).code, 4);
    assert.deepEqual(readdirSync(fresh), [], '--no-cache made no cache directory');
  });
});
