// Attacks on the registry client, against real HTTP servers on loopback:
// - a registry that trickles one byte a second (a manifest, or a module blob)
//   must not keep a pull alive past its --timeout: the deadline is total, per
//   request and per pull, not an idle timer that every byte resets;
// - credentials go only to the exact origin (scheme, host, port) they were
//   configured for: a bearer realm on the same host but another port is
//   another server, and it must not receive the basic credentials.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../src/store/local.js';
import { pullModule } from '../../src/store/oci.js';
import { parseOciReference } from '../../src/store/reference.js';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const module = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.wasm.config.v0+json', digest: sha256(new Uint8Array(2)), size: 2 },
  layers: [{ mediaType: 'application/wasm', digest: sha256(module), size: module.length }],
}));
const credentials = { username: 'alice', password: 's3cret' };

/** A loopback server whose sockets are all destroyed when it closes. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; address: string; close(): Promise<void> }> {
  const server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return { server, address, close: async () => { for (const s of sockets) s.destroy(); await new Promise((r) => server.close(r)); } };
}

/** A manifest for a 1 MiB module: at a byte per 50 ms, its blob would take 14 hours. */
const bigManifest = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.wasm.config.v0+json', digest: sha256(new Uint8Array(2)), size: 2 },
  layers: [{ mediaType: 'application/wasm', digest: sha256(new Uint8Array(1 << 20)), size: 1 << 20 }],
}));

/** Sends one byte every `everyMs`, for as long as the client listens. */
function trickle(res: ServerResponse, everyMs: number): void {
  res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
  res.flushHeaders();
  const timer = setInterval(() => { if (!res.destroyed) res.write(' '); }, everyMs);
  res.on('close', () => clearInterval(timer));
}

describe('registry deadlines are total', () => {
  let registry: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    registry = await serve((req, res) => {
      const [, , repo, kind] = (req.url ?? '').split('/');
      if (repo === 'slowmanifest') { trickle(res, 50); return; }
      if (kind === 'manifests') { res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json'); res.end(bigManifest); return; }
      trickle(res, 50);
    });
  });
  after(() => registry.close());

  // Without a total deadline each of these runs until the test's own timeout cancels it.
  it('a manifest trickling a byte at a time ends at the deadline', { timeout: 20_000 }, async () => {
    await assert.rejects(pullModule(parseOciReference(`${registry.address}/slowmanifest:1`), { timeoutMs: 400 }), /did not finish within the 400ms deadline/);
  });

  it('a module blob trickling a byte at a time ends at the deadline', { timeout: 20_000 }, async () => {
    await assert.rejects(pullModule(parseOciReference(`${registry.address}/slowblob:1`), { timeoutMs: 400 }), /did not finish within the 400ms deadline/);
  });

  it('warden pull --timeout 1s exits 2 with one line and writes nothing', { timeout: 30_000 }, async (t) => {
    const cwd = tempDir(t);
    const r = await runWarden(['pull', `${registry.address}/slowblob@${sha256(bigManifest)}`, '-o', 'out.wasm', '--timeout', '1s'], { cwd, timeoutMs: 20_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^warden pull: 127\.0\.0\.1:\d+ did not finish within the 1s deadline \(--timeout\)/);
    assert.deepEqual(readdirSync(cwd), []);
  });
});

describe('credentials go only to their own origin', () => {
  let registry: Awaited<ReturnType<typeof serve>>;
  let neighbour: Awaited<ReturnType<typeof serve>>;
  const seen: string[] = [];
  before(async () => {
    // Same host, another port: another server, which must learn nothing.
    neighbour = await serve((req, res) => {
      seen.push(req.headers.authorization ?? '');
      res.end(JSON.stringify({ token: 'T0KEN' }));
    });
    registry = await serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const auth = req.headers.authorization ?? '';
      if (url.pathname === '/token') { res.end(JSON.stringify({ token: 'OWN' })); return; }
      const [, , repo, , kind] = url.pathname.split('/');
      if (auth !== 'Bearer OWN' && auth !== 'Bearer T0KEN') {
        res.statusCode = 401;
        const realm = repo === 'neighbour' ? `http://${neighbour.address}/token` : `http://${registry.address}/token`;
        res.setHeader('www-authenticate', `Bearer realm="${realm}",service="test"`);
        res.end();
        return;
      }
      res.end(kind === 'manifests' ? manifest : Buffer.from(module));
    });
  });
  after(async () => { await registry.close(); await neighbour.close(); });

  it('a token realm on the same host but another port is refused, and gets no credentials', async () => {
    await assert.rejects(pullModule(parseOciReference(`${registry.address}/neighbour/app:1`), { credentials }), /token endpoint on another origin \(http:\/\/127\.0\.0\.1:\d+, the registry is http:\/\/127\.0\.0\.1:\d+\)/);
    assert.deepEqual(seen, [], 'the neighbouring server received no request, let alone credentials');
  });

  it('a realm on the registry\'s own origin still works', async () => {
    assert.deepEqual((await pullModule(parseOciReference(`${registry.address}/own/app:1`), { credentials })).module, module);
  });
});
