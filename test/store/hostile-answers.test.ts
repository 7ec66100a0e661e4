// More of what a hostile registry can answer, each against a real HTTP server
// on loopback: bodies that never end (on an error, on a redirect, on a
// manifest, on a blob), an image index or a Docker manifest list where a
// manifest belongs, content-type games, a digest of another algorithm, and
// referrers: a flood of them, one for other bytes, one naming another subject.
// Each is refused with its reason, and none is read past its bound: an error
// body is dropped at its cap, not read until the deadline.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../src/store/local.js';
import { pullModule } from '../../src/store/oci.js';
import { fetchSignatures, SIGNATURE_ARTIFACT_TYPE } from '../../src/store/referrers.js';
import { parseOciReference } from '../../src/store/reference.js';
import { credentialsFrom } from '../../src/cli/registry-credentials.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const module = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const config = { mediaType: 'application/vnd.wasm.config.v0+json', digest: sha256(new Uint8Array(2)), size: 2 };
const manifestWith = (over: Record<string, unknown> = {}, layer: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: MANIFEST, config,
  layers: [{ mediaType: 'application/wasm', digest: sha256(module), size: module.length, ...layer }],
  ...over,
}));
const good = manifestWith();
const TEXT = Buffer.from('#!/bin/sh\necho not a module\n');
const COMPONENT = Uint8Array.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]);
const textManifest = manifestWith({}, { digest: sha256(TEXT), size: TEXT.length });

/** Writes `chunk` for as long as the client reads. */
function endless(res: ServerResponse, chunk = Buffer.alloc(16 * 1024, 0x20)): void {
  const pump = (): void => { while (!res.destroyed && res.write(chunk)); };
  res.on('drain', pump);
  pump();
}

// Referrers: a signature blob, the artifact manifest pointing at it, and an index listing it.
const subject = sha256(good);
const signature = Uint8Array.from([1, 1, 1, 0, 0, 0, 0]);
const artifact = (subjectDigest: string) => Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: MANIFEST, artifactType: SIGNATURE_ARTIFACT_TYPE,
  config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(Buffer.from('{}')), size: 2 },
  layers: [{ mediaType: SIGNATURE_ARTIFACT_TYPE, digest: sha256(signature), size: signature.length }],
  subject: { mediaType: MANIFEST, digest: subjectDigest, size: good.length },
}));
const honestArtifact = artifact(subject);
const indexOf = (entries: Array<{ digest: string; size: number }>) => Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: INDEX, manifests: entries.map((e) => ({ mediaType: MANIFEST, artifactType: SIGNATURE_ARTIFACT_TYPE, ...e })),
}));

const handlers: Record<string, (kind: string, ref: string, res: ServerResponse) => void> = {
  good: (kind, _ref, res) => { res.setHeader('content-type', MANIFEST); res.end(kind === 'manifests' ? good : module); },
  // An error whose body never ends: refused as the error it is, not read until the deadline.
  endless404: (_kind, _ref, res) => { res.statusCode = 404; endless(res); },
  // A redirect whose body never ends: followed at once.
  endlessredirect: (kind, ref, res) => {
    if (ref === 'next') { handlers.good!(kind, ref, res); return; }
    res.statusCode = 307;
    res.setHeader('location', `/v2/endlessredirect/${kind}/next`);
    endless(res);
  },
  endlessmanifest: (_kind, _ref, res) => { res.setHeader('content-type', MANIFEST); endless(res); },
  endlessblob: (kind, ref, res) => (kind === 'manifests' ? handlers.good!(kind, ref, res) : endless(res)),
  index: (_kind, _ref, res) => { res.setHeader('content-type', INDEX); res.end(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [{ mediaType: MANIFEST, digest: subject, size: good.length }] })); },
  // A manifest list with no mediaType of its own, sent as if it were an OCI manifest.
  dockerlist: (_kind, _ref, res) => { res.setHeader('content-type', MANIFEST); res.end(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MANIFEST, digest: subject, size: good.length }] })); },
  // The body says manifest, the header says index (or the reverse): the body decides, and it is checked whole.
  typegame: (kind, _ref, res) => { res.setHeader('content-type', INDEX); res.end(kind === 'manifests' ? good : module); },
  // A layer whose bytes match the manifest but are no module: text, and a component.
  text: (kind, _ref, res) => { res.setHeader('content-type', MANIFEST); res.end(kind === 'manifests' ? textManifest : TEXT); },
  component: (kind, _ref, res) => { res.setHeader('content-type', MANIFEST); res.end(kind === 'manifests' ? manifestWith({}, { digest: sha256(COMPONENT), size: COMPONENT.length }) : COMPONENT); },
  sha512: (_kind, _ref, res) => { res.setHeader('content-type', MANIFEST); res.end(manifestWith({}, { digest: `sha512:${'a'.repeat(128)}` })); },
  // Referrer floods and lies.
  referrers: (kind, ref, res) => {
    if (kind === 'blobs') { res.end(signature); return; }
    if (ref === `sha256-${subject.slice(7)}`) { res.setHeader('content-type', INDEX); res.end(indexOf([{ digest: sha256(honestArtifact), size: honestArtifact.length }])); return; }
    res.setHeader('content-type', MANIFEST);
    res.end(ref === sha256(honestArtifact) ? honestArtifact : good);
  },
  flood: (kind, ref, res) => {
    if (kind === 'blobs') { res.end(signature); return; }
    if (ref.startsWith('sha256-')) {
      res.setHeader('content-type', INDEX);
      res.end(indexOf(Array.from({ length: 10_000 }, () => ({ digest: sha256(honestArtifact), size: honestArtifact.length }))));
      return;
    }
    res.setHeader('content-type', MANIFEST);
    res.end(honestArtifact);
  },
  othersubject: (kind, ref, res) => {
    const other = artifact(sha256(Buffer.from('another module')));
    if (kind === 'blobs') { res.end(signature); return; }
    if (ref.startsWith('sha256-')) { res.setHeader('content-type', INDEX); res.end(indexOf([{ digest: sha256(other), size: other.length }])); return; }
    res.setHeader('content-type', MANIFEST);
    res.end(other);
  },
};

describe('a hostile registry\'s answers', () => {
  let server: Server;
  let address = '';
  let requests = 0;
  const sockets = new Set<Socket>();
  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      requests++;
      const [, , repo, kind, ref] = (req.url ?? '').split('/');
      const handler = handlers[repo ?? ''];
      if (!handler) { res.statusCode = 404; res.end(); return; }
      handler(kind ?? '', decodeURIComponent(ref ?? ''), res);
    });
    server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => { for (const s of sockets) s.destroy(); await new Promise((r) => server.close(r)); });

  // A deadline far longer than any of these takes when refused at its bound: a refusal
  // that names the deadline instead means the bound did not hold.
  const pull = (repo: string) => pullModule(parseOciReference(`${address}/${repo}:1`), { timeoutMs: 60_000 });

  it('the honest route works', async () => {
    assert.deepEqual((await pull('good')).module, module);
  });

  it('an error with an endless body is the error, not a wait for the deadline', async () => {
    await assert.rejects(pull('endless404'), /was not found/);
  });

  it('a redirect with an endless body is followed at once', async () => {
    assert.deepEqual((await pull('endlessredirect')).module, module);
  });

  it('an endless manifest or blob is cut at its bound', async () => {
    await assert.rejects(pull('endlessmanifest'), /sent more than 4194304 bytes/);
    await assert.rejects(pull('endlessblob'), /sent more than 8 bytes/);
  });

  it('an image index or a manifest list is not a Wasm artifact', async () => {
    await assert.rejects(pull('index'), /media type is "application\/vnd.oci.image.index.v1\+json"/);
    await assert.rejects(pull('dockerlist'), /not a Wasm artifact|not a valid descriptor/);
  });

  it('a content type that disagrees with the body does not change what is checked', async () => {
    assert.deepEqual((await pull('typegame')).module, module);
  });

  it('a layer that is not a core WebAssembly module is refused, though its digest matches', async () => {
    await assert.rejects(pull('text'), /the layer is not a WebAssembly module/);
    await assert.rejects(pull('component'), /the layer is not a core WebAssembly module/);
  });

  it('warden pull --store keeps no layer that is not a module', async (t) => {
    const cwd = tempDir(t);
    const r = await runWarden(['pull', `${address}/text@${sha256(textManifest)}`, '--store', '--data-dir', join(cwd, 'data'), '--timeout', '60s'], { cwd });
    assert.notEqual(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal((await runWarden(['ls', '--data-dir', join(cwd, 'data')], { cwd })).stdout.includes('sha256:'), false);
  });

  it('warden pull -o FILE --store: a store that cannot take the module leaves no file either', async (t) => {
    const cwd = tempDir(t);
    // The module's place in the store is taken by a directory, so the store's commit fails.
    mkdirSync(join(cwd, 'data', 'blobs', 'sha256', sha256(module).slice(7), 'taken'), { recursive: true });
    const r = await runWarden(['pull', `${address}/good@${sha256(good)}`, '-o', 'out.wasm', '--store', '--data-dir', join(cwd, 'data'), '--timeout', '60s'], { cwd });
    assert.notEqual(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.deepEqual(readdirSync(cwd), ['data']);
  });

  it('a layer digest of another algorithm is refused', async () => {
    await assert.rejects(pull('sha512'), /layer is not a valid descriptor/);
  });

  it('warden pull: an error with an endless body is exit 2, one line, nothing written', async (t) => {
    const cwd = tempDir(t);
    const r = await runWarden(['pull', `${address}/endless404@${subject}`, '-o', 'out.wasm', '--timeout', '60s'], { cwd });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /was not found/);
    assert.deepEqual(readdirSync(cwd), []);
  });

  describe('referrers', () => {
    const ref = (repo: string) => parseOciReference(`${address}/${repo}:1`);

    it('the honest referrer is found', async () => {
      assert.deepEqual(await fetchSignatures(ref('referrers'), subject), [signature]);
    });

    it('a referrer naming another subject is refused', async () => {
      await assert.rejects(fetchSignatures(ref('othersubject'), subject), /names another subject/);
    });

    it('an index of 10,000 referrers is refused before they are fetched', async () => {
      const before = requests;
      await assert.rejects(fetchSignatures(ref('flood'), subject), /more than 64 signature referrers/);
      assert.ok(requests - before <= 2, `${requests - before} requests`);
    });
  });
});

describe('warden push --referrer: a signature for other bytes is not published', () => {
  it('refuses, exit 1, one line, before any request', async (t) => {
    let requests = 0;
    const registry = createServer((_req, res) => { requests++; res.statusCode = 500; res.end(); });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
    t.after(() => new Promise((r) => registry.close(r)));
    const address = `127.0.0.1:${(registry.address() as { port: number }).port}`;
    const cwd = tempDir(t);
    assert.equal((await runWarden(['keygen', '--out', 'k'], { cwd })).code, 0);
    assert.equal((await runWarden(['sign', '--key', 'k', fixture('c', 'hello.wasm'), '-o', 'hello.wasm'], { cwd })).code, 0);
    // A detached signature of another module, and one that is not signature data at all.
    assert.equal((await runWarden(['sign', '--key', 'k', fixture('c', 'audit_md5.wasm'), '--detached', 'other.sig'], { cwd })).code, 0);
    writeFileSync(join(cwd, 'junk.sig'), 'not a signature');
    for (const [sig, reason] of [['other.sig', /other\.sig does not sign hello\.wasm/], ['junk.sig', /junk\.sig: malformed signature data/]] as const) {
      const r = await runWarden(['push', '--oci', `${address}/app:1`, '--referrer', sig, 'hello.wasm'], { cwd });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, reason);
    }
    assert.equal(requests, 0);
    // The signature of these very bytes goes out (and meets the registry's 500: exit 2).
    assert.equal((await runWarden(['sign', '--key', 'k', fixture('c', 'hello.wasm'), '--detached', 'hello.sig'], { cwd })).code, 0);
    assert.equal((await runWarden(['push', '--oci', `${address}/app:1`, '--referrer', 'hello.sig', 'hello.wasm'], { cwd })).code, 2);
    assert.ok(requests > 0);
  });
});

describe('Docker\'s config.json, read for credentials, is read within bounds', () => {
  it('a regular one is read', (t) => {
    const docker = tempDir(t);
    writeFileSync(join(docker, 'config.json'), JSON.stringify({ auths: { 'reg.example:5000': { auth: Buffer.from('bob:pw').toString('base64') } } }));
    const io = { env: { DOCKER_CONFIG: docker } } as unknown as Parameters<typeof credentialsFrom>[0];
    assert.deepEqual(credentialsFrom(io, 'reg.example:5000'), { credentials: { username: 'bob', password: 'pw' } });
    assert.deepEqual(credentialsFrom(io, 'other.example'), {});
  });

  for (const kind of ['a FIFO', 'a link to /dev/zero'] as const) {
    it(`${kind} is skipped, not read for ever`, async (t) => {
      const cwd = tempDir(t);
      const docker = join(cwd, 'docker');
      mkdirSync(docker);
      if (kind === 'a FIFO') execFileSync('mkfifo', [join(docker, 'config.json')]);
      else symlinkSync('/dev/zero', join(docker, 'config.json'));
      // Port 9 on loopback: nothing listens, so the pull itself fails at once.
      const r = await runWarden(['pull', `127.0.0.1:9/app@${sha256(good)}`, '-o', 'out.wasm'], { cwd, env: { DOCKER_CONFIG: docker }, timeoutMs: 60_000 });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /ECONNREFUSED/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    });
  }
});
