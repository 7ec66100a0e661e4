// Deploys by pinned OCI reference, from a registry of our own on loopback:
// the module is verified and admitted under the tenant's policy before it is
// stored (an unsigned module from the registry left its bytes in the store);
// a registry that lies about the blob, a tag where a digest is required, and
// a digest the registry does not have are each refused, the old version
// serving, nothing new in the store.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../src/store/local.js';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { admin, fixture, http, serve, writeConfig } from './harness.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const config = Buffer.from('{}');
const manifestFor = (module: Uint8Array, claimed = sha256(module)) => Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: MANIFEST,
  config: { mediaType: 'application/vnd.wasm.config.v0+json', digest: sha256(config), size: config.length },
  layers: [{ mediaType: 'application/wasm', digest: claimed, size: module.length }],
}));

describe('warden serve: deploy by pinned OCI reference', () => {
  let registry: Server;
  let address = '';
  const sockets = new Set<Socket>();
  /** repository → [manifest, blob served for the manifest's layer] */
  const repos = new Map<string, [Buffer, Uint8Array]>();
  before(async () => {
    registry = createServer((req, res) => {
      const [, , repo, kind] = (req.url ?? '').split('/');
      const entry = repos.get(repo ?? '');
      if (!entry) { res.statusCode = 404; res.end(); return; }
      res.setHeader('content-type', kind === 'manifests' ? MANIFEST : 'application/octet-stream');
      res.end(kind === 'manifests' ? entry[0] : entry[1]);
    });
    registry.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
    address = `127.0.0.1:${(registry.address() as { port: number }).port}`;
  });
  after(async () => { for (const s of sockets) s.destroy(); await new Promise((r) => registry.close(r)); });

  it('verifies before it stores, and refuses what the registry lies about', async (t) => {
    const dir = tempDir(t);
    const dataDir = `${dir}/data`;
    const key = `${dir}/k.key`;
    assert.equal((await runWarden(['keygen', '--out', key])).code, 0);
    assert.equal((await runWarden(['sign', '--key', key, fixture('versioned-v1.wasm'), '-o', `${dir}/v1.wasm`])).code, 0);
    assert.equal((await runWarden(['sign', '--key', key, fixture('versioned-v2.wasm'), '-o', `${dir}/v2.wasm`])).code, 0);
    const signed2 = new Uint8Array(readFileSync(`${dir}/v2.wasm`));
    const unsigned2 = new Uint8Array(readFileSync(fixture('versioned-v2.wasm')));
    repos.set('signed', [manifestFor(signed2), signed2]);
    repos.set('unsigned', [manifestFor(unsigned2), unsigned2]);
    // The manifest names the signed module; the blob is the unsigned one.
    repos.set('liar', [manifestFor(unsigned2, sha256(signed2)), unsigned2]);
    const pinned = (repo: string) => `${address}/${repo}@${sha256(repos.get(repo)![0])}`;

    const served = await serve(t, {
      dataDir,
      config: writeConfig(dir, `
data-dir = "${dataDir}"
[[tenant]]
id = "signed"
routes = ["/signed/..."]
module = "${dir}/v1.wasm"
[tenant.policy.limits]
fuel = 0
[tenant.policy.trust]
keys = ["${key}.pub"]
`),
    });
    const blobs = `${dataDir}/blobs/sha256`;
    const stored = () => readdirSync(blobs).sort();
    const before = stored();
    const deploy = (module: string) => admin(served, '/tenants/signed/deploy', { method: 'POST', body: JSON.stringify({ module }), headers: { 'content-type': 'application/json' } });
    const serving = async () => (await http(`${served.url}/signed/`)).text.trim();
    assert.equal(await serving(), 'version 1');

    const unsigned = await deploy(pinned('unsigned'));
    assert.equal(unsigned.status, 409, unsigned.text);
    assert.match(unsigned.text, /unsigned/);
    assert.equal(await serving(), 'version 1');
    // Refused, so not kept: the store holds what it held.
    assert.deepEqual(stored(), before, 'an untrusted module from the registry was stored');

    const liar = await deploy(pinned('liar'));
    assert.equal(liar.status, 409, liar.text);
    assert.match(liar.text, /digest does not match/);
    const tag = await deploy(`${address}/signed:1`);
    assert.equal(tag.status, 409, tag.text);
    assert.match(tag.text, /pin it by digest/);
    const missing = await deploy(`${address}/nothing@${sha256(Buffer.from('x'))}`);
    assert.equal(missing.status, 409, missing.text);
    assert.equal(await serving(), 'version 1');
    assert.deepEqual(stored(), before);

    const ok = await deploy(pinned('signed'));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(await serving(), 'version 2');
    assert.deepEqual(stored(), [...before, sha256(signed2).slice(7)].sort());
    assert.equal(await served.stop(), 0);
  });

  it('a tenant configured by pinned reference restarts and reloads from the data dir, the registry gone', async (t) => {
    const dir = tempDir(t);
    const dataDir = `${dir}/data`;
    const v1 = new Uint8Array(readFileSync(fixture('versioned-v1.wasm')));
    repos.set('restart', [manifestFor(v1), v1]);
    const reference = `${address}/restart@${sha256(repos.get('restart')![0])}`;
    const configPath = writeConfig(dir, `
data-dir = "${dataDir}"
[[tenant]]
id = "app"
routes = ["/app/..."]
module = "${reference}"
[tenant.policy.limits]
fuel = 0
`);
    let served = await serve(t, { dataDir, config: configPath });
    assert.equal((await http(`${served.url}/app/`)).text.trim(), 'version 1');
    assert.equal(await served.stop(), 0);
    // The registry no longer has it: a pinned reference names the same bytes for ever, and
    // those are in the data dir.
    repos.delete('restart');
    served = await serve(t, { dataDir, config: configPath });
    assert.equal((await http(`${served.url}/app/`)).text.trim(), 'version 1');
    const reloaded = await admin(served, '/reload', { method: 'POST' });
    assert.equal(reloaded.status, 200, reloaded.text);
    assert.deepEqual((JSON.parse(reloaded.text) as { failed: unknown[] }).failed, []);
    assert.equal((await http(`${served.url}/app/`)).text.trim(), 'version 1');
    assert.equal(await served.stop(), 0);
  });
});
