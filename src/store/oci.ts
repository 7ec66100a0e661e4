// Wasm modules as OCI artifacts (CNCF TAG Runtime layout): a config blob of
// media type application/vnd.wasm.config.v0+json, exactly one
// application/wasm layer, an OCI image manifest. Pushing requires a module
// that carries its signature; pulling pins the manifest by the digest of its
// raw bytes and checks every blob against its digest and size.

import { createHash } from 'node:crypto';
import { readSections } from '../binary/sections.js';
import { SIGNATURE_SECTION } from '../signing/format.js';
import { RegistryClient, RegistryError, type ClientOptions } from './http.js';
import { sha256 } from './local.js';
import { formatOciReference, type OciReference } from './reference.js';

export const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const CONFIG_TYPE = 'application/vnd.wasm.config.v0+json';
export const LAYER_TYPE = 'application/wasm';
/** The first bytes of a core module: the magic number, then version 1. */
const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const PREAMBLE = [...MAGIC, 0x01, 0x00, 0x00, 0x00];
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_MODULE_BYTES = 256 * 1024 * 1024;

export interface PullOptions extends ClientOptions {
  /** Largest module accepted (default 256 MiB). */
  maxBytes?: number;
}

function hasEmbeddedSignature(bytes: Uint8Array): boolean {
  try {
    const first = readSections(bytes)[0];
    return first?.id === 0 && first.name === SIGNATURE_SECTION;
  } catch {
    return false;
  }
}

/** Uploads a blob unless the registry has it (monolithic upload); returns its digest. */
export async function uploadBlob(client: RegistryClient, repository: string, bytes: Uint8Array, digest = sha256(bytes)): Promise<string> {
  const scope = `repository:${repository}:pull,push`;
  const head = await client.send('HEAD', `/v2/${repository}/blobs/${digest}`, { maxBytes: 0, scope });
  if (head.status === 200) return digest;
  const start = await client.send('POST', `/v2/${repository}/blobs/uploads/`, { maxBytes: 1 << 16, scope });
  if (start.status !== 202 || !start.headers.location) throw new RegistryError(`starting an upload failed (${start.status})`, 'unavailable');
  const location = new URL(start.headers.location, 'http://placeholder');
  location.searchParams.set('digest', digest);
  const put = await client.send('PUT', `${location.pathname}${location.search}`, { body: bytes, headers: { 'content-type': 'application/octet-stream' }, maxBytes: 1 << 16, scope });
  if (put.status !== 201) throw new RegistryError(`uploading ${digest} failed (${put.status})`, 'unavailable');
  return digest;
}

/** Pushes a signed module; returns the reference pinned by manifest digest. */
export async function pushModule(ref: OciReference, module: Uint8Array, options: ClientOptions & { created: string }): Promise<string> {
  return (await pushModuleManifest(ref, module, options)).pinned;
}

/** As pushModule, also returning the manifest's digest and size (the subject for referrers). */
export async function pushModuleManifest(ref: OciReference, module: Uint8Array, options: ClientOptions & { created: string }): Promise<{ pinned: string; digest: string; size: number }> {
  if (!ref.tag) throw new RegistryError('pushing needs a tag (REGISTRY/REPO:TAG)');
  if (!hasEmbeddedSignature(module)) throw new RegistryError('the module is not signed: sign it first (warden sign); only signed modules are pushed');
  const client = new RegistryClient(ref.registry, options);
  const layerDigest = sha256(module);
  const config = new TextEncoder().encode(JSON.stringify({ created: options.created, architecture: 'wasm', os: 'wasip1', layerDigests: [layerDigest] }));
  const configDigest = sha256(config);
  await uploadBlob(client, ref.repository, config, configDigest);
  await uploadBlob(client, ref.repository, module, layerDigest);
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    artifactType: CONFIG_TYPE,
    config: { mediaType: CONFIG_TYPE, digest: configDigest, size: config.length },
    layers: [{ mediaType: LAYER_TYPE, digest: layerDigest, size: module.length }],
  }));
  const put = await client.send('PUT', `/v2/${ref.repository}/manifests/${ref.tag}`, {
    body: manifest, headers: { 'content-type': MANIFEST_TYPE }, maxBytes: 1 << 16, scope: `repository:${ref.repository}:pull,push`,
  });
  if (put.status !== 201) throw new RegistryError(`pushing the manifest failed (${put.status})`, 'unavailable');
  const digest = sha256(manifest);
  return { pinned: formatOciReference({ ...ref, tag: null, digest }), digest, size: manifest.length };
}

interface Descriptor { mediaType?: unknown; digest?: unknown; size?: unknown }

function descriptor(value: unknown, what: string): { mediaType: string; digest: string; size: number } {
  const d = value as Descriptor;
  if (!d || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(d.digest) || typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new RegistryError(`the manifest's ${what} is not a valid descriptor`);
  }
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/** What a pull fetched: the manifest it pinned and the module's digest and size. */
export interface Pulled {
  manifestDigest: string;
  /** The manifest's raw bytes, as pinned (they hash to manifestDigest). */
  manifest: Uint8Array;
  layerDigest: string;
  size: number;
}

/**
 * Pulls a module into `sink`, chunk by chunk, hashing as it streams. The
 * manifest must hash to the pinned digest when one is given; the promise
 * resolves only once the module matched the manifest's size and digest, so a
 * caller commits what the sink wrote only then (and discards it on a throw).
 */
export async function pullModuleInto(ref: OciReference, sink: (chunk: Uint8Array) => void, options: PullOptions = {}): Promise<Pulled> {
  const client = new RegistryClient(ref.registry, options);
  const scope = `repository:${ref.repository}:pull`;
  const target = ref.digest ?? ref.tag!;
  const response = await client.send('GET', `/v2/${ref.repository}/manifests/${target}`, { headers: { accept: MANIFEST_TYPE }, maxBytes: MAX_MANIFEST_BYTES, scope });
  if (response.status === 404) throw new RegistryError(`${formatOciReference(ref)} was not found`, 'unavailable');
  if (response.status !== 200) throw new RegistryError(`fetching the manifest failed (${response.status})`, 'unavailable');
  // The raw bytes, as received: a re-serialised manifest would hash differently.
  const manifestDigest = sha256(response.body);
  if (ref.digest && manifestDigest !== ref.digest) throw new RegistryError(`the manifest's digest is ${manifestDigest}, not the pinned ${ref.digest}`);
  const layer = wasmLayerOf(response.body, String(response.headers['content-type'] ?? ''));
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MODULE_BYTES;
  if (layer.size > maxBytes) throw new RegistryError(`the module is ${layer.size} bytes, over the limit of ${maxBytes} (--max-size)`);
  const hash = createHash('sha256');
  let received = 0;
  const header = new Uint8Array(PREAMBLE.length);
  const blob = await client.send('GET', `/v2/${ref.repository}/blobs/${layer.digest}`, {
    maxBytes: layer.size,
    scope,
    sink: (chunk) => {
      if (received < header.length) header.set(chunk.subarray(0, header.length - received), received);
      received += chunk.length;
      hash.update(chunk);
      sink(chunk);
    },
  });
  if (blob.status === 404) throw new RegistryError(`the module blob ${layer.digest} was not found`, 'unavailable');
  if (blob.status !== 200) throw new RegistryError(`fetching the module failed (${blob.status})`, 'unavailable');
  if (received !== layer.size) throw new RegistryError(`the module is ${received} bytes, the manifest says ${layer.size}`);
  if ('sha256:' + hash.digest('hex') !== layer.digest) throw new RegistryError(`the module's digest does not match the manifest (${layer.digest})`);
  // The publisher's bytes, but are they a module? A layer of text, or a component, would otherwise be
  // written out or kept in the store under a module's name, to be refused only by whatever reads it next.
  if (!MAGIC.every((b, i) => header[i] === b) || received < PREAMBLE.length) throw new RegistryError('the layer is not a WebAssembly module (no \\0asm header)');
  if (!PREAMBLE.every((b, i) => header[i] === b)) throw new RegistryError('the layer is not a core WebAssembly module (version 1): wasm-warden runs core modules');
  return { manifestDigest, manifest: response.body, layerDigest: layer.digest, size: layer.size };
}

/** Pulls a module into memory (at most `maxBytes`, default 256 MiB). */
export async function pullModule(ref: OciReference, options: PullOptions = {}): Promise<{ module: Uint8Array; manifestDigest: string; manifest: Uint8Array }> {
  const parts: Uint8Array[] = [];
  const pulled = await pullModuleInto(ref, (chunk) => parts.push(chunk), options);
  return { module: new Uint8Array(Buffer.concat(parts, pulled.size)), manifestDigest: pulled.manifestDigest, manifest: pulled.manifest };
}

/** The module's layer digest in a manifest a pull accepted before (the same checks; its raw bytes kept by their digest). */
export function wasmLayerDigest(manifest: Uint8Array): string {
  return wasmLayerOf(manifest, MANIFEST_TYPE).digest;
}

/** Checks a manifest is a Wasm artifact and returns its one layer. */
function wasmLayerOf(raw: Uint8Array, contentType: string): { digest: string; size: number } {
  let manifest: { mediaType?: unknown; schemaVersion?: unknown; config?: unknown; layers?: unknown };
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    throw new RegistryError('the manifest is not JSON');
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest) || manifest.schemaVersion !== 2) {
    throw new RegistryError('the manifest is not an OCI image manifest (schemaVersion 2)');
  }
  const declared = manifest.mediaType ?? contentType.split(';')[0]!.trim();
  if (declared !== MANIFEST_TYPE) throw new RegistryError(`the manifest's media type is ${shortText(declared)}, not ${MANIFEST_TYPE}`);
  const config = descriptor(manifest.config, 'config');
  if (config.mediaType !== CONFIG_TYPE) throw new RegistryError(`the config's media type is ${shortText(config.mediaType)}, not ${CONFIG_TYPE}: not a Wasm artifact`);
  if (!Array.isArray(manifest.layers) || manifest.layers.length !== 1) {
    throw new RegistryError(`a Wasm artifact has exactly one layer, this one has ${Array.isArray(manifest.layers) ? manifest.layers.length : 'none'}`);
  }
  const layer = descriptor(manifest.layers[0], 'layer');
  if (layer.mediaType !== LAYER_TYPE) throw new RegistryError(`the layer's media type is ${shortText(layer.mediaType)}, not ${LAYER_TYPE}`);
  return layer;
}

const shortText = (value: unknown): string => {
  const text = String(value);
  return JSON.stringify(text.length > 80 ? text.slice(0, 80) + '…' : text);
};
