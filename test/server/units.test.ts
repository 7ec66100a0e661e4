// The server's pure parts: fair scheduling, the guest response parser, route
// matching, the token bucket and the admin token comparison.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tokenMatches } from '../../src/server/admin.js';
import { parseRoute, RouteTable, type Route } from '../../src/server/routes.js';
import { batchLines } from '../../src/server/log-batch.js';
import { escapeLogLine, ServeLog, type RequestLine } from '../../src/server/log.js';
import { Counter, ServeMetrics } from '../../src/server/metrics.js';
import { nextRequestId } from '../../src/server/request-id.js';
import { createLane, FairScheduler } from '../../src/server/scheduler.js';
import { listen } from '../../src/server/listen.js';
import { StorageMeter } from '../../src/server/storage.js';
import { TokenBucket } from '../../src/server/token-bucket.js';
import { cgiEnvironment, parseGuestResponse } from '../../src/server/wagi.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('fair scheduler', () => {
  it('serves a waiting tenant before the rest of another tenant\'s backlog', async () => {
    const scheduler = new FairScheduler(1);
    const a = createLane(4, 100);
    const b = createLane(4, 100);
    const order: string[] = [];
    const releases: Array<() => void> = [];
    const submit = (lane: typeof a, name: string) => scheduler.acquire(lane).then((release) => { order.push(name); releases.push(release!); });
    const first = submit(a, 'a1');
    await first;
    const pending = [submit(a, 'a2'), submit(a, 'a3'), submit(a, 'a4'), submit(b, 'b1')];
    for (let i = 0; i < 4; i++) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    releases.shift()!();
    await Promise.all(pending);
    // b1 arrived last but runs second: lanes take turns.
    assert.deepEqual(order, ['a1', 'a2', 'b1', 'a3', 'a4']);
  });

  it('refuses beyond a lane\'s queue and holds a lane to its concurrency', async () => {
    const scheduler = new FairScheduler(8);
    const lane = createLane(1, 1);
    const first = await scheduler.acquire(lane);
    assert.ok(first);
    const second = scheduler.acquire(lane);
    assert.equal(await scheduler.acquire(lane), null);
    first();
    assert.ok(await second);
  });

  it('takes a free slot at once, never ahead of a request already waiting', async () => {
    const scheduler = new FairScheduler(1);
    const a = createLane(2, 10);
    const b = createLane(2, 10);
    const held = scheduler.tryAcquire(a);
    assert.ok(held);
    // The only slot is taken: nothing at once, for this lane or another.
    assert.equal(scheduler.tryAcquire(a), null);
    assert.equal(scheduler.tryAcquire(b), null);
    const waiting = scheduler.acquire(b);
    held();
    // The freed slot went to b's waiting request, not to whoever asks next.
    assert.equal(scheduler.tryAcquire(a), null);
    const release = await waiting;
    assert.ok(release);
    release();
    assert.ok(scheduler.tryAcquire(a));
  });
});

describe('guest responses (WAGI)', () => {
  it('reads Status, Location and headers', () => {
    const ok = parseGuestResponse(bytes('Content-Type: text/plain\nX-A: 1\n\nbody'));
    assert.ok(typeof ok !== 'string');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.headers, [['Content-Type', 'text/plain'], ['X-A', '1']]);
    assert.equal(Buffer.from(ok.body).toString(), 'body');
    const moved = parseGuestResponse(bytes('Location: /elsewhere\r\n\r\n'));
    assert.ok(typeof moved !== 'string' && moved.status === 302);
    const status = parseGuestResponse(bytes('Status: 404 Not Found\nContent-Type: text/plain\n\n'));
    assert.ok(typeof status !== 'string' && status.status === 404);
  });

  it('refuses what could split or smuggle a response', () => {
    for (const text of [
      'just a body', 'X-A: 1\n\nno content type', 'Content-Type text/plain\n\n', 'Content-Type: a\rb\n\n',
      'Bad Name: x\nContent-Type: a\n\n', 'Status: 99\nContent-Type: a\n\n', 'Status: 1000\nContent-Type: a\n\n', 'Status: 101\nContent-Type: a\n\n',
      'Content-Type: a\u0000\n\n', `${'X-A: 1\n'.repeat(200)}Content-Type: a\n\n`,
    ]) {
      assert.equal(typeof parseGuestResponse(bytes(text)), 'string', JSON.stringify(text));
    }
    const owned = parseGuestResponse(bytes('Content-Type: a\nContent-Length: 999\nTransfer-Encoding: chunked\nConnection: upgrade\n\nx'));
    assert.ok(typeof owned !== 'string');
    assert.deepEqual(owned.headers, [['Content-Type', 'a']]);
  });
});

describe('CGI variables (WAGI)', () => {
  it('joins repeated Cookie headers with "; " and other repeated headers with ", ", from a real request', async () => {
    // A real request parsed by node:http, sent with its header lines as a client wrote them.
    const server = createServer((request, response) => {
      const env = cgiEnvironment({
        request, scriptName: '/t', rawPathInfo: '/', query: '', matchedRoute: '/t/...', serverName: '127.0.0.1', serverPort: 80,
        remoteAddr: '127.0.0.1', remotePort: 1, bodyLength: 0, passHeaders: ['cookie'],
      });
      response.end(JSON.stringify({ cookie: env.HTTP_COOKIE, list: env.HTTP_X_LIST }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end('GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nX-List: p\r\nCookie: b=2\r\nX-List: q\r\nConnection: close\r\n\r\n'));
        let text = '';
        socket.on('data', (d) => { text += d; }).on('end', () => resolve(text)).on('error', reject);
      });
      // Joined by commas, `a=1, b=2` is one cookie named a worth "1, b=2" to a guest's cookie parser.
      assert.deepEqual(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), { cookie: 'a=1; b=2', list: 'p, q' });
    } finally {
      server.close();
    }
  });
});

describe('routes', () => {
  const route = (text: string): Route => { const r = parseRoute(text); assert.ok(typeof r !== 'string', text); return r; };
  it('matches exact paths, wildcards and hosts, most specific first', () => {
    const table = new RouteTable<string>();
    table.add(route('/t/a/...'), 'a');
    table.add(route('/t/a/deep/...'), 'deep');
    table.add(route('/exact'), 'exact');
    table.add(route('api.example/...'), 'api');
    assert.equal(table.match('x', '/t/a/deep/x')!.target, 'deep');
    const m = table.match('x', '/t/a/b%20c')!;
    assert.equal(m.target, 'a');
    assert.equal(m.scriptName, '/t/a');
    assert.equal(m.rawPathInfo, '/b%20c');
    assert.equal(table.match('x', '/t/ab'), null);
    assert.equal(table.match('x', '/exact')!.target, 'exact');
    assert.equal(table.match('x', '/exact/more'), null);
    assert.equal(table.match('API.example:8080', '/t/a/x')!.target, 'api');
    // The fully qualified spelling (a trailing dot) is the same host, to DNS and to a proxy in front: it must not fall through to another tenant's path route.
    assert.equal(table.match('api.example.', '/t/a/x')!.target, 'api');
    assert.equal(table.match('api.example.:8080', '/t/a/x')!.target, 'api');
    assert.equal(table.match('api.example..', '/t/a/x')!.target, 'a');
  });
  it('matches the path as sent: an encoded spelling of a route reaches no tenant', () => {
    const table = new RouteTable<string>();
    table.add(route('/t/a/...'), 'a');
    table.add(route('/exact'), 'exact');
    for (const path of ['/t/%61/x', '/t/%61', '/%74/a/x', '/t%2fa/x', '/%65xact', '/EXACT']) assert.equal(table.match('x', path), null, path);
  });
  it('refuses routes with dot segments or bad hosts', () => {
    for (const text of ['/t/../x/...', 'bad host/...', '/a/./b', '', 'x/..../']) assert.equal(typeof parseRoute(text), 'string', text);
  });
});

describe('admin token and rate limit', () => {
  it('compares tokens by their digests', () => {
    const expected = createHash('sha256').update('the-right-token-123').digest();
    assert.equal(tokenMatches('the-right-token-123', expected), true);
    assert.equal(tokenMatches('the-right-token-12', expected), false);
    assert.equal(tokenMatches('', expected), false);
  });
  it('grants a burst, then one token per 1/rate seconds', () => {
    const bucket = new TokenBucket(2, 3, 0);
    assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0)], [0, 0, 0]);
    assert.equal(bucket.take(0), 1);
    assert.equal(bucket.take(500), 0);
    assert.equal(bucket.take(500), 1);
  });
  it('survives the wall clock stepping back: no debt for time that never passed', () => {
    // An NTP step of an hour backwards made elapsed time negative: the bucket went 36,000 tokens into debt
    // and the tenant was answered 429 (Retry-After 3600) for the hour, though it had sent nothing.
    const hour = 3_600_000;
    const bucket = new TokenBucket(10, 10, 10 * hour);
    assert.equal(bucket.take(10 * hour), 0);
    assert.equal(bucket.take(9 * hour), 0, 'a token left before the step is still there after it');
    for (let i = 0; i < 8; i++) assert.equal(bucket.take(9 * hour), 0);
    assert.equal(bucket.take(9 * hour), 1, 'the burst is spent: one token per 1/rate seconds from here');
    assert.equal(bucket.take(9 * hour + 100), 0, 'refills from the new reading on');
  });
});

describe('request ids', () => {
  it('are unique and do not count the requests served between two of them', () => {
    // A client sees its own requests' ids; with a counter in them, two of its ids told it how many requests
    // the server answered in between: every other tenant's traffic.
    const ids = Array.from({ length: 5000 }, () => nextRequestId());
    assert.equal(new Set(ids).size, ids.length);
    let shared = ids[0]!;
    for (const id of ids) while (!id.startsWith(shared)) shared = shared.slice(0, -1);
    const rest = ids.map((id) => id.slice(shared.length));
    // A counter in any base, padded or not, sorts by length then text in the order it was issued.
    const asCounted = [...rest].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
    assert.notDeepEqual(asCounted, rest);
    for (const id of ids) assert.match(id, /^[0-9a-f]+$/);
  });
});

describe('storage meter', () => {
  it('measures the same blocks on and off the event loop: nested directories counted, a symlink\'s target not followed', async () => {
    const { mkdirSync, mkdtempSync, writeFileSync, rmSync, symlinkSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { measureDiskUse, measureDiskUseAsync } = await import('../../src/server/storage.js');
    const root = mkdtempSync(`${tmpdir()}/warden-walk-`);
    const outside = mkdtempSync(`${tmpdir()}/warden-walk-outside-`);
    try {
      mkdirSync(`${root}/a/b/c`, { recursive: true });
      writeFileSync(`${root}/a/one`, Buffer.alloc(20_000, 1));
      writeFileSync(`${root}/a/b/c/two`, Buffer.alloc(50_000, 2));
      writeFileSync(`${outside}/big`, Buffer.alloc(1 << 20, 3));
      symlinkSync(outside, `${root}/a/link`);
      const expected = ['a', 'a/b', 'a/b/c', 'a/one', 'a/b/c/two'].reduce((sum, rel) => sum + statSync(`${root}/${rel}`).blocks * 512, 0);
      const sync = measureDiskUse(root);
      assert.ok(sync >= expected && sync < expected + 64 * 1024, `${sync} counts the tree's blocks (${expected}) and the link itself, not the 1 MiB behind it`);
      assert.equal(await measureDiskUseAsync(root), sync);
      assert.equal(measureDiskUse(`${root}/missing`), 0, 'a root that cannot be listed counts nothing');
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('counts what a tenant hides deeper than PATH_MAX, on and off the event loop', async () => {
    const { closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync, constants } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { measureDiskUse, measureDiskUseAsync } = await import('../../src/server/storage.js');
    const { removeTree } = await import('../../src/wasi/scratch.js');
    const root = mkdtempSync(`${tmpdir()}/warden-deep-`);
    try {
      // A guest nests directories from descriptors it holds, past what any path from the root
      // can name (300 levels of 60 bytes: 18 KB), and keeps 1 MiB at the bottom. A walk by
      // path gets ENAMETOOLONG there, skips it, and the tenant stores past its quota unseen.
      let fd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
      for (let level = 0; level < 300; level++) {
        mkdirSync(`/proc/self/fd/${fd}/${'d'.repeat(60)}`);
        const next = openSync(`/proc/self/fd/${fd}/${'d'.repeat(60)}`, constants.O_RDONLY | constants.O_DIRECTORY);
        closeSync(fd);
        fd = next;
      }
      writeFileSync(`/proc/self/fd/${fd}/bottom`, Buffer.alloc(1 << 20, 1));
      closeSync(fd);
      const sync = measureDiskUse(root);
      assert.ok(sync >= (1 << 20) + 300 * 4096, `measured ${sync}: the 1 MiB at depth 300 was not counted`);
      assert.equal(await measureDiskUseAsync(root), sync);
    } finally {
      removeTree(root); // by descriptors: rmSync's paths are too long for this tree
    }
  });

  it('counts a root whose directories move under the walk as full, never climbing to where it did not come from', async () => {
    const { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { answerSync, diskUseWalk } = await import('../../src/server/storage.js');
    const root = mkdtempSync(`${tmpdir()}/warden-moved-`);
    try {
      mkdirSync(`${root}/a/b/c`, { recursive: true });
      writeFileSync(`${root}/a/b/c/file`, 'x');
      // The tenant moves c up to the root while the walk is inside it: climbing from c then
      // reaches the root instead of b, and a walk that trusted `..` would go on listing b's
      // entries there and climb twice more, above the root, into the other tenants' data.
      const walk = diskUseWalk(root);
      let step = walk.next(null);
      let moved = false;
      while (!step.done) {
        if ('openParent' in step.value && !moved) {
          renameSync(`${root}/a/b/c`, `${root}/c`);
          moved = true;
        }
        step = walk.next(answerSync(step.value));
      }
      assert.ok(moved, 'the walk never climbed');
      assert.equal(step.value, Number.MAX_SAFE_INTEGER);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('counts a sparse file at its apparent size, so a tenant cannot fill holes it made in earlier runs for free', async () => {
    const { mkdtempSync, openSync, ftruncateSync, closeSync, rmSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { measureDiskUse, measureDiskUseAsync, StorageMeter } = await import('../../src/server/storage.js');
    const { hostDirectory } = await import('../../src/wasi/fs/host-directory.js');
    const { createQuota } = await import('../../src/wasi/fs/quota.js');
    const root = mkdtempSync(`${tmpdir()}/warden-holes-`);
    try {
      // What a tenant's runs leave when each grows a file by truncation: every run is charged
      // the apparent size it adds, but the file holds no blocks, so a measurement of blocks
      // alone forgets those charges and finds the root nearly empty.
      const fd = openSync(`${root}/holes`, 'w');
      ftruncateSync(fd, 1 << 20);
      closeSync(fd);
      const measured = measureDiskUse(root);
      assert.equal(await measureDiskUseAsync(root), measured);
      const meter = new StorageMeter(root, 64 * 1024, () => 0);
      assert.equal(meter.full(), true, `a root holding a 1 MiB file is over a 64 KiB quota (measured ${measured})`);
      // Over the quota the tenant's runs get a write quota of 0 bytes and 0 files. Filling the
      // holes costs nothing under it (the WASI quota counts what was there at its apparent size),
      // so the measurement must already have counted what the file can come to hold.
      const quota = createQuota({ maxWriteBytes: 0, maxFilesCreated: 0 });
      const dir = hostDirectory(root, { quota, now: () => 0n });
      const file = dir.open('holes', { create: false, exclusive: false, truncate: false, directory: false, read: false, write: true, append: false, followSymlinks: false });
      assert.equal(file.kind, 'file');
      if (file.kind === 'file') {
        const page = new Uint8Array(4096).fill(7);
        for (let at = 0; at < 1 << 20; at += page.length) file.write(page, BigInt(at), 0, page.length);
        file.close();
      }
      dir.close();
      const held = statSync(`${root}/holes`).blocks * 512;
      assert.ok(held >= 1 << 20, 'the holes were filled');
      assert.ok(held <= measured, `the tenant's root holds ${held} bytes, more than the ${measured} measured before`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  /**
   * A meter with a 16 KiB quota over a fresh root, on a clock the test sets, made full
   * by a 32 KiB file `a` that is then deleted behind its back; `body` runs, then the root goes.
   */
  const withFullMeter = async (start: number, body: (meter: InstanceType<typeof StorageMeter>, root: string, clock: { now: number }) => Promise<void> | void): Promise<void> => {
    const root = mkdtempSync(`${tmpdir()}/warden-meter-`);
    const clock = { now: start };
    try {
      const meter = new StorageMeter(root, 16 * 1024, () => clock.now);
      assert.equal(meter.full(), false);
      writeFileSync(`${root}/a`, Buffer.alloc(32 * 1024, 1));
      meter.wrote(32 * 1024, 1);
      assert.equal(meter.full(), true);
      unlinkSync(`${root}/a`);
      await body(meter, root, clock);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };

  it('re-measures a full root at most every few seconds, and sees deletions then', () => withFullMeter(0, (meter, _root, clock) => {
    assert.equal(meter.full(), true, 'not measured again yet');
    clock.now += 6000;
    assert.equal(meter.full(), false, 'measured again: the deletion counts');
  }));

  it('measures a full root again after the clock stepped back, instead of waiting for it to catch up', () => {
    // Measured at 10:00 with the clock then set back to 9:00, "at most every few seconds" read as "not before 10:00":
    // a tenant that had deleted its way under its quota stayed shrink-only (every write EDQUOT) for the hour.
    const hour = 3_600_000;
    return withFullMeter(10 * hour, async (meter, root, clock) => {
      clock.now -= hour;
      assert.equal(meter.full(), false, 'a full root is measured again: the deletion counts');
      // The shrink-only path: a run over quota ended, the root is measured again off the event loop.
      writeFileSync(`${root}/b`, Buffer.alloc(32 * 1024, 1));
      meter.wrote(32 * 1024, 1);
      assert.equal(meter.full(), true);
      unlinkSync(`${root}/b`);
      clock.now -= hour;
      meter.mayHaveShrunk();
      for (let i = 0; i < 200 && meter.usedBytes >= 16 * 1024; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(meter.usedBytes < 16 * 1024, 'measured again after the shrink-only run, not an hour later');
      meter.close();
    });
  });
});

describe('module source', () => {
  it('refuses a module file that is a FIFO or a directory at once, instead of blocking the server on it', { timeout: 20_000 }, async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { LocalModuleSource } = await import('../../src/server/module-source.js');
    const dir = mkdtempSync(`${tmpdir()}/warden-source-`);
    try {
      execFileSync('mkfifo', [`${dir}/fifo.wasm`]);
      const source = new LocalModuleSource(`${dir}/data`, 1 << 20);
      await assert.rejects(source.resolve({ kind: 'file', path: `${dir}/fifo.wasm` }), /fifo\.wasm is not a regular file/);
      await assert.rejects(source.resolve({ kind: 'file', path: dir }), /is not a regular file/);
      await assert.rejects(source.resolve({ kind: 'file', path: `${dir}/missing.wasm` }), /cannot read .*missing\.wasm \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('log lines batched per turn', () => {
  it('writes a turn\'s lines once, in order, at the end of the turn, and at once on flush', async () => {
    const writes: string[] = [];
    const sink = batchLines((text) => writes.push(text));
    sink('a\n');
    sink('b\n');
    assert.deepEqual(writes, []);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes, ['a\nb\n']);
    sink('c\n');
    sink.flush();
    assert.deepEqual(writes, ['a\nb\n', 'c\n']);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes, ['a\nb\n', 'c\n']);
  });

  it('writes a burst without waiting for the turn to end once 64 KiB are pending', () => {
    const writes: string[] = [];
    const sink = batchLines((text) => writes.push(text));
    const line = 'x'.repeat(1023) + '\n';
    for (let i = 0; i < 64; i++) sink(line);
    assert.equal(writes.length, 1);
    assert.equal(writes[0], line.repeat(64));
  });
});

describe('metric series keys', () => {
  it('names one series whatever the labels\' order, and never merges two label sets', () => {
    const c = new Counter('c_total', 'test');
    c.inc({ tenant: 'a', status: '200' });
    c.inc({ status: '200', tenant: 'a' });
    // Spelled alike once names and values are run together; still two series.
    c.inc({ tenant: 'x\u0000status\u0000y' });
    c.inc({ tenant: 'x', status: 'y' });
    c.inc({ tenant: 'q"\n' });
    assert.equal(c.get({ tenant: 'a', status: '200' }), 2);
    assert.equal(c.get({ tenant: 'x', status: 'y' }), 1);
    assert.deepEqual(c.render(), [
      'c_total{status="200",tenant="a"} 2',
      'c_total{tenant="x\u0000status\u0000y"} 1',
      'c_total{status="y",tenant="x"} 1',
      'c_total{tenant="q\\"\\n"} 1',
    ]);
  });
});

describe('request log lines and request metrics', () => {
  it('keeps logging a tenant\'s stderr after the wall clock stepped back', () => {
    // Counted as negative time, a step back of an hour put the tenant's stderr budget 14 MiB into debt: nothing
    // it wrote to stderr reached the log for the hour.
    const lines: string[] = [];
    let now = 10 * 3_600_000;
    const log = new ServeLog((line) => lines.push(line), null, () => now);
    log.tenantStderr('t', 'r-1', new TextEncoder().encode('before\n'));
    now -= 3_600_000;
    log.tenantStderr('t', 'r-2', new TextEncoder().encode('after\n'));
    const logged = lines.map((l) => JSON.parse(l) as { kind: string; text: string }).filter((l) => l.kind === 'stderr').map((l) => l.text);
    assert.deepEqual(logged, ['before\n', 'after\n']);
  });
  it('writes a request line exactly as JSON.stringify writes the same object (terminal-active characters escaped), whatever its strings hold', () => {
    const lines: string[] = [];
    const log = new ServeLog((line) => lines.push(line), null, () => 1_700_000_000_123);
    const cases: RequestLine[] = [
      { request_id: 'ab-1', tenant: 'hello', route: '/t/hello/...', method: 'GET', status: 200, duration_ms: 1.25, digest: 'sha256:00ff', fuel: 1234 },
      { request_id: 'ab-2', tenant: null, route: '', method: undefined, status: 404, duration_ms: 0, digest: null },
      { request_id: 'ab-3', tenant: 't"\\\n\u0000\u2028é', route: '/"x"/...', method: 'M\u0001"', status: 502, duration_ms: 12.5, digest: null, reason: 'response:a "quoted"\nline' },
      { request_id: 'ab-4', tenant: 'x', route: '/', method: 'POST', status: 500, duration_ms: Number.NaN, digest: 'd', fuel: 0, reason: '' },
    ];
    for (const fields of cases) log.request(fields);
    cases.forEach((fields, i) => {
      const expected = escapeLogLine(JSON.stringify({
        time: new Date(1_700_000_000_123).toISOString(), kind: 'request', request_id: fields.request_id, tenant: fields.tenant, route: fields.route,
        method: fields.method, status: fields.status, duration_ms: fields.duration_ms, digest: fields.digest,
        ...(fields.fuel !== undefined ? { fuel: fields.fuel } : {}), ...(fields.reason !== undefined ? { reason: fields.reason } : {}),
      })) + '\n';
      assert.equal(lines[i], expected, `line ${i}`);
    });
  });

  it('writes no character a terminal acts on: DEL, C1 (a CSI), line separators and bidi overrides are escaped, and parse back unchanged', () => {
    const lines: string[] = [];
    const audited = join(mkdtempSync(join(tmpdir(), 'warden-log-')), 'audit.log');
    const log = new ServeLog((line) => lines.push(line), audited, () => 1_700_000_000_123);
    // What a tenant or a client controls: a C1 CSI that turns text red, DEL, a forged second line, a bidi override.
    const hostile = 'ok\u009b31mred\u007f\u2028{"kind":"audit"}\u2029\u202egnp.exe\u2066x\u2069\u0085 \\\u009b';
    log.tenantStderr('t', 'r-1', new TextEncoder().encode(hostile));
    log.request({ request_id: 'r-2', tenant: 't', route: '/...', method: `GET${hostile}`, status: 500, duration_ms: 1, digest: null, reason: hostile });
    log.event({ kind: 'lifecycle', detail: hostile });
    log.audit({ tenant: 't', denied: hostile });
    const written = [...lines, readFileSync(audited, 'utf8')];
    for (const line of written) {
      assert.doesNotMatch(line.slice(0, -1), /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\n]/, `raw terminal-active character in ${JSON.stringify(line)}`);
    }
    const [stderr, request, event, audit] = lines.map((line) => JSON.parse(line));
    assert.equal(stderr.text, hostile);
    assert.equal(request.method, `GET${hostile}`);
    assert.equal(request.reason, hostile);
    assert.equal(event.detail, hostile);
    assert.equal(audit.denied, hostile);
    assert.equal(escapeLogLine('{"plain":"text é"}'), '{"plain":"text é"}');
  });

  it('counts requests and latency by tenant and status in the same series as the labelled calls', () => {
    const m = new ServeMetrics();
    m.countRequest('a', 200);
    m.countRequest('a', 200);
    m.countRequest('a', 503);
    m.countRequest('b', 200);
    m.requests.inc({ tenant: 'a', status: '200' });
    assert.equal(m.requests.get({ tenant: 'a', status: '200' }), 3);
    assert.equal(m.requests.get({ status: '503', tenant: 'a' }), 1);
    assert.equal(m.requests.get({ tenant: 'b', status: '200' }), 1);
    m.observeLatency('a', 0.002);
    m.latency.observe({ tenant: 'a' }, 0.02);
    const rendered = m.render();
    assert.match(rendered, /warden_request_duration_seconds_count\{tenant="a"\} 2\n/);
    assert.match(rendered, /warden_request_duration_seconds_bucket\{tenant="a",le="0.0025"\} 1\n/);
  });
});

describe('the admin unix socket', () => {
  it('is its owner\'s alone from the moment it exists, whatever the process umask', async (t) => {
    // A chmod after listen() left the socket open to every local user until then.
    const dir = mkdtempSync(join(tmpdir(), 'warden-socket-'));
    const path = join(dir, 'admin.sock');
    const server = createServer();
    const umask = process.umask(0);
    t.after(() => {
      process.umask(umask);
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    let modeWhenListening = -1;
    server.once('listening', () => { modeWhenListening = statSync(path).mode & 0o777; });
    assert.equal(await listen(server, { kind: 'unix', path }), `unix:${path}`);
    assert.equal(modeWhenListening, 0o600);
    assert.equal(process.umask(umask), 0, 'the process umask is put back');
    process.umask(umask);
  });
});
