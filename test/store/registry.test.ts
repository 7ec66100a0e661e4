// Pushing and pulling Wasm artifacts against a real registry on loopback.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { secretKeyFromSeed } from '../../src/signing/keys.js';
import { signModule } from '../../src/signing/sign.js';
import { pullModule, pushModule } from '../../src/store/oci.js';
import { parseOciReference } from '../../src/store/reference.js';
import { sha256 } from '../../src/store/local.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { registryAvailable, startRegistry, type Registry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tmp.js';

const inCi = process.env.CI === 'true';
const skip = !registryAvailable() && !inCi ? 'SKIPPED: docker-registry is not installed (apt-get install docker-registry)' : false;

describe('OCI distribution against a real registry', { skip }, () => {
  let registry: Registry;
  const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));
  const signed = signModule(hello, secretKeyFromSeed(new Uint8Array(32).fill(7))).module;
  before(async () => { registry = await startRegistry(); });
  after(async () => { await registry?.stop(); });

  it('pushes a signed module and pulls the same bytes back, pinned by manifest digest', async () => {
    const pinned = await pushModule(parseOciReference(`${registry.address}/plugins/hello:1.0`), signed, { created: '2026-01-01T00:00:00Z' });
    assert.match(pinned, /@sha256:[0-9a-f]{64}$/);
    const pulled = await pullModule(parseOciReference(pinned));
    assert.deepEqual(Buffer.compare(pulled.module, signed), 0);
    assert.equal(`${registry.address}/plugins/hello@${pulled.manifestDigest}`, pinned);
    const byTag = await pullModule(parseOciReference(`${registry.address}/plugins/hello:1.0`));
    assert.equal(byTag.manifestDigest, pulled.manifestDigest);
  });

  it('stores the CNCF Wasm artifact layout', async () => {
    const pinned = await pushModule(parseOciReference(`${registry.address}/plugins/layout:v1`), signed, { created: '2026-01-01T00:00:00Z' });
    const digest = pinned.split('@')[1]!;
    const response = await fetch(`http://${registry.address}/v2/plugins/layout/manifests/${digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const raw = new Uint8Array(await response.arrayBuffer());
    assert.equal(sha256(raw), digest);
    const manifest = JSON.parse(new TextDecoder().decode(raw));
    assert.equal(manifest.config.mediaType, 'application/vnd.wasm.config.v0+json');
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0].mediaType, 'application/wasm');
    const config = await (await fetch(`http://${registry.address}/v2/plugins/layout/blobs/${manifest.config.digest}`)).json();
    assert.deepEqual(config, { created: '2026-01-01T00:00:00Z', architecture: 'wasm', os: 'wasip1', layerDigests: [sha256(signed)] });
  });

  it('refuses to push an unsigned module, and refuses a digest that does not match', async () => {
    await assert.rejects(pushModule(parseOciReference(`${registry.address}/plugins/unsigned:1`), hello, { created: 'x' }), /not signed/);
    const pinned = await pushModule(parseOciReference(`${registry.address}/plugins/pin:1`), signed, { created: 'x' });
    const wrong = pinned.replace(/@sha256:.{4}/, '@sha256:0000');
    await assert.rejects(pullModule(parseOciReference(wrong)), /not found|digest/);
  });

  it('the CLI: push --oci, pull -o, pull --store, run by store digest', async (t) => {
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'signed.wasm'), signed);
    const push = await runWarden(['push', '--oci', `${registry.address}/cli/hello:2`, 'signed.wasm'], { cwd });
    assert.equal(push.code, 0, push.stderr);
    const pinned = push.stdout.trim();
    const pull = await runWarden(['pull', pinned, '-o', 'pulled.wasm'], { cwd });
    assert.equal(pull.code, 0, pull.stderr);
    assert.deepEqual(readFileSync(join(cwd, 'pulled.wasm')), Buffer.from(signed));
    const stored = await runWarden(['pull', pinned, '--store', '--data-dir', 'data'], { cwd });
    assert.equal(stored.code, 0, stored.stderr);
    assert.equal(stored.stdout.trim(), sha256(signed));
    const ran = await runWarden(['run', '--data-dir', 'data', sha256(signed)], { cwd });
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, 'hello from wasm-warden\n');
    const tag = await runWarden(['pull', `${registry.address}/cli/hello:2`, '-o', 'tag.wasm'], { cwd });
    assert.match(tag.stderr, /tag, which can be moved/);
  });
});

describe('detached signatures as OCI referrers', { skip }, () => {
  let registry: Registry;
  before(async () => { registry = await startRegistry(); });
  after(async () => { await registry?.stop(); });

  it('attaches through the tag-schema fallback and is found again', async (t) => {
    const { attachSignature, fetchSignatures } = await import('../../src/store/referrers.js');
    const { pushModuleManifest } = await import('../../src/store/oci.js');
    const key = secretKeyFromSeed(new Uint8Array(32).fill(9));
    const embedded = signModule(new Uint8Array(readFileSync(fixture('c', 'hello.wasm'))), key).module;
    const detached = signModule(new Uint8Array(readFileSync(fixture('c', 'hello.wasm'))), secretKeyFromSeed(new Uint8Array(32).fill(10)), { detached: true }).signature;
    const ref = parseOciReference(`${registry.address}/plugins/ref:1`);
    const pushed = await pushModuleManifest(ref, embedded, { created: 'x' });
    await attachSignature(ref, pushed, detached);
    const found = await fetchSignatures(ref, pushed.digest);
    assert.equal(found.length, 1);
    assert.deepEqual(Buffer.compare(found[0]!, detached), 0);
    // The index is the fallback tag sha256-<hex>, as OCI 1.1 describes for registries without the referrers API.
    const index = (await (await fetch(`http://${registry.address}/v2/plugins/ref/manifests/${pushed.digest.replace(':', '-')}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).json()) as { manifests: unknown[] };
    assert.equal(index.manifests.length, 1);
    // The CLI path: --referrer.
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'm.wasm'), embedded);
    writeFileSync(join(cwd, 'm.sig'), detached);
    const push = await runWarden(['push', '--oci', `${registry.address}/plugins/cli:1`, '--referrer', 'm.sig', 'm.wasm'], { cwd });
    assert.equal(push.code, 0, push.stderr);
    const digest = push.stdout.trim().split('@')[1]!;
    assert.equal((await fetchSignatures(parseOciReference(`${registry.address}/plugins/cli:1`), digest)).length, 1);
  });
});
