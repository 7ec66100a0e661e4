// A registry that lies, stalls or redirects: each answer is refused with a
// reason, within bounded time, and nothing is written.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { openStore, sha256 } from '../../src/store/local.js';
import { pullModule } from '../../src/store/oci.js';
import { parseOciReference, ReferenceError, isStoreDigest } from '../../src/store/reference.js';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const module = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const layerDigest = sha256(module);
const manifestOf = (layers: unknown[], config = { mediaType: 'application/vnd.wasm.config.v0+json', digest: sha256(new Uint8Array(2)), size: 2 }) =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers }));
const layer = (over: Record<string, unknown> = {}) => ({ mediaType: 'application/wasm', digest: layerDigest, size: module.length, ...over });

/** Routes: repository name → what its manifest and blob requests get. */
const routes: Record<string, { manifest?: Buffer | 'hang' | 'garbage'; blob?: Buffer | 'redirect-away' | 'truncate' }> = {
  good: { manifest: manifestOf([layer()]), blob: Buffer.from(module) },
  garbage: { manifest: 'garbage' },
  twolayers: { manifest: manifestOf([layer(), layer()]) },
  wrongtype: { manifest: manifestOf([layer()], { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(new Uint8Array(2)), size: 2 }) },
  oversized: { manifest: manifestOf([layer({ size: 10 * 1024 ** 3 })]) },
  wrongblob: { manifest: manifestOf([layer()]), blob: Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 1]) },
  truncated: { manifest: manifestOf([layer()]), blob: 'truncate' },
  redirect: { manifest: manifestOf([layer()]), blob: 'redirect-away' },
  hang: { manifest: 'hang' },
};

describe('a hostile registry', () => {
  let server: Server;
  let address = '';
  const sockets = new Set<import('node:net').Socket>();
  before(async () => {
    server = createServer((req, res) => {
      const match = /^\/v2\/(\w+)\/(manifests|blobs)\//.exec(req.url ?? '');
      const route = match ? routes[match[1]!] : undefined;
      if (!route) { res.statusCode = 404; res.end(); return; }
      if (match![2] === 'manifests') {
        if (route.manifest === 'hang') return; // accept, never answer
        res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
        res.end(route.manifest === 'garbage' ? '{"schemaVersion": 2, "layers": [' : route.manifest);
        return;
      }
      if (route.blob === 'redirect-away') { res.statusCode = 307; res.setHeader('location', 'http://198.51.100.7/blob'); res.end(); return; }
      if (route.blob === 'truncate') { res.setHeader('content-length', String(module.length)); res.write(Buffer.from(module.subarray(0, 4))); res.destroy(); return; }
      res.end(route.blob);
    });
    server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => { for (const s of sockets) s.destroy(); await new Promise((r) => server.close(r)); });

  const pull = (repo: string, timeoutMs = 2000) => pullModule(parseOciReference(`${address}/${repo}:1`), { timeoutMs });

  it('the honest route works', async () => {
    assert.deepEqual((await pull('good')).module, module);
  });

  const cases: Array<[string, RegExp]> = [
    ['garbage', /not JSON/],
    ['twolayers', /exactly one layer, this one has 2/],
    ['wrongtype', /not a Wasm artifact/],
    ['oversized', /over the limit/],
    ['wrongblob', /digest does not match/],
    ['truncated', /closed the connection|bytes, the manifest says|socket hang up|ECONNRESET/],
    ['redirect', /redirected to another origin/],
    ['hang', /did not finish within the 300ms deadline/],
  ];
  for (const [repo, reason] of cases) {
    it(`refuses: ${repo}`, async () => {
      await assert.rejects(pull(repo, 300), reason);
    });
  }

  it('a pinned digest that does not match the manifest is refused', async () => {
    const ref = parseOciReference(`${address}/good@sha256:${'0'.repeat(64)}`);
    await assert.rejects(pullModule(ref), /not the pinned/);
  });

  it('the CLI exits 1 with one line and writes nothing', async (t) => {
    const cwd = tempDir(t);
    const r = await runWarden(['pull', `${address}/wrongblob:1`, '-o', 'out.wasm', '--timeout', '2s'], { cwd });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').filter((l) => !l.includes('warning')).length, 1);
    assert.deepEqual(readdirSync(cwd), []);
    assert.equal((await runWarden(['pull', 'not a reference', '-o', 'x'], { cwd })).code, 2);
  });
});

describe('the local store', () => {
  it('is content-addressed, idempotent, and re-hashes on read', (t) => {
    const dir = tempDir(t);
    const store = openStore(dir);
    const digest = store.put(module);
    assert.equal(digest, sha256(module));
    assert.equal(store.put(module), digest);
    assert.deepEqual(store.list(), [digest]);
    assert.deepEqual(store.get(digest), module);
    writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), Buffer.from('tampered'));
    assert.throws(() => store.get(digest), /corrupted/);
    assert.throws(() => store.get('sha256:nope'), /not a sha256/);
  });

  it('leaves nothing half-written when the disk fills up mid-write', (t) => {
    const dir = tempDir(t);
    const first = openStore(dir).put(Uint8Array.of(1));
    let calls = 0;
    const full = openStore(dir, {
      write: (fd, data, offset) => {
        if (calls++ === 0) return writeSync(fd, data, offset, 4);
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      },
    });
    assert.throws(() => full.put(module), /cannot write to the store .*ENOSPC/);
    const blobs = join(dir, 'blobs', 'sha256');
    assert.deepEqual(readdirSync(blobs), [first.slice(7)]);
    assert.equal(existsSync(join(blobs, layerDigest.slice(7))), false);
    assert.deepEqual(openStore(dir).list(), [first]);
  });
});

describe('references', () => {
  it('never confuses store digests with registry references', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.ok(isStoreDigest(digest));
    assert.throws(() => parseOciReference(digest), /store digest/);
    assert.deepEqual(parseOciReference(`localhost:5000/a/b@${digest}`), { registry: 'localhost:5000', repository: 'a/b', tag: null, digest });
    assert.deepEqual(parseOciReference('ghcr.io/org/plugin:v1.2'), { registry: 'ghcr.io', repository: 'org/plugin', tag: 'v1.2', digest: null });
    for (const bad of ['plugin:v1', 'host/UPPER:v1', 'host/repo', 'host/repo:', 'host/repo@sha256:xyz', 'host//repo:v1', '/repo:v1', 'ho st/repo:v1']) {
      assert.throws(() => parseOciReference(bad), ReferenceError, bad);
    }
  });

  it('parses arbitrary strings into a reference or a ReferenceError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
      try {
        const ref = parseOciReference(text);
        assert.ok(ref.registry.length > 0 && ref.repository.length > 0 && (ref.tag || ref.digest));
      } catch (error) {
        assert.ok(error instanceof ReferenceError);
      }
    }), { seed: 9, numRuns: 3000 });
  });
});
