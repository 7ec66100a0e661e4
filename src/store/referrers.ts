// Detached signatures as OCI referrers, through the OCI 1.1 tag-schema
// fallback (for registries without the referrers API, such as Distribution
// 2.8): the signature is pushed as an artifact whose `subject` is the
// module's manifest, and listed in an image index tagged `sha256-<hex>`.

import { RegistryClient, RegistryError, type ClientOptions } from './http.js';
import { sha256 } from './local.js';
import { MANIFEST_TYPE, uploadBlob } from './oci.js';
import type { OciReference } from './reference.js';

export const SIGNATURE_ARTIFACT_TYPE = 'application/vnd.wasm.signature.v1+wasmsign2';
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';
const EMPTY_TYPE = 'application/vnd.oci.empty.v1+json';
const EMPTY = new TextEncoder().encode('{}');
/**
 * The most signature referrers read for one module: each costs three requests and up to
 * 1 MiB held, and an index of 4 MiB lists some 25,000 (25 GiB of signatures, had they all been fetched).
 */
export const MAX_SIGNATURE_REFERRERS = 64;

interface IndexDescriptor { mediaType: string; digest: string; size: number; artifactType?: string }

async function putManifest(client: RegistryClient, repository: string, reference: string, body: Uint8Array, mediaType: string): Promise<void> {
  const put = await client.send('PUT', `/v2/${repository}/manifests/${reference}`, { body, headers: { 'content-type': mediaType }, maxBytes: 1 << 16, scope: `repository:${repository}:pull,push` });
  if (put.status !== 201) throw new RegistryError(`pushing ${reference} failed (${put.status})`, 'unavailable');
}

const fallbackTag = (digest: string) => digest.replace(':', '-');

async function readIndex(client: RegistryClient, repository: string, subject: string): Promise<IndexDescriptor[]> {
  const response = await client.send('GET', `/v2/${repository}/manifests/${fallbackTag(subject)}`, { headers: { accept: INDEX_TYPE }, maxBytes: 4 << 20, scope: `repository:${repository}:pull` });
  if (response.status === 404) return [];
  if (response.status !== 200) throw new RegistryError(`reading the referrers of ${subject} failed (${response.status})`, 'unavailable');
  try {
    const index = JSON.parse(new TextDecoder().decode(response.body)) as { manifests?: unknown };
    if (!Array.isArray(index?.manifests)) return [];
    return index.manifests.filter((d): d is IndexDescriptor => typeof d === 'object' && d !== null
      && typeof d.mediaType === 'string' && typeof d.digest === 'string' && typeof d.size === 'number');
  } catch {
    throw new RegistryError(`the referrers index of ${subject} is not JSON`);
  }
}

/** Attaches a detached signature to the module manifest `subject` (a digest in `ref`'s repository). */
export async function attachSignature(ref: OciReference, subject: { digest: string; size: number }, signature: Uint8Array, options: ClientOptions = {}): Promise<string> {
  const client = new RegistryClient(ref.registry, options);
  await uploadBlob(client, ref.repository, EMPTY);
  const layer = await uploadBlob(client, ref.repository, signature);
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    artifactType: SIGNATURE_ARTIFACT_TYPE,
    config: { mediaType: EMPTY_TYPE, digest: sha256(EMPTY), size: EMPTY.length },
    layers: [{ mediaType: SIGNATURE_ARTIFACT_TYPE, digest: layer, size: signature.length }],
    subject: { mediaType: MANIFEST_TYPE, digest: subject.digest, size: subject.size },
  }));
  const digest = sha256(manifest);
  await putManifest(client, ref.repository, digest, manifest, MANIFEST_TYPE);
  const existing = (await readIndex(client, ref.repository, subject.digest)).filter((d) => d.digest !== digest);
  const index = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: INDEX_TYPE,
    manifests: [...existing, { mediaType: MANIFEST_TYPE, digest, size: manifest.length, artifactType: SIGNATURE_ARTIFACT_TYPE }],
  }));
  await putManifest(client, ref.repository, fallbackTag(subject.digest), index, INDEX_TYPE);
  return digest;
}

/** The detached signatures attached to manifest `subject`, each checked against its descriptor. */
export async function fetchSignatures(ref: OciReference, subject: string, options: ClientOptions = {}): Promise<Uint8Array[]> {
  const client = new RegistryClient(ref.registry, options);
  const scope = `repository:${ref.repository}:pull`;
  const out: Uint8Array[] = [];
  const listed = (await readIndex(client, ref.repository, subject)).filter((d) => d.artifactType === SIGNATURE_ARTIFACT_TYPE);
  // Bounded before anything is fetched: the index is the registry's (or any pusher's) to fill.
  if (listed.length > MAX_SIGNATURE_REFERRERS) throw new RegistryError(`the referrers index of ${subject} lists ${listed.length} signatures, more than ${MAX_SIGNATURE_REFERRERS} signature referrers are read`);
  for (const d of listed) {
    if (!/^sha256:[0-9a-f]{64}$/.test(d.digest)) continue;
    const response = await client.send('GET', `/v2/${ref.repository}/manifests/${d.digest}`, { headers: { accept: MANIFEST_TYPE }, maxBytes: 1 << 20, scope });
    if (response.status !== 200 || sha256(response.body) !== d.digest) throw new RegistryError(`referrer ${d.digest} does not match its digest`);
    let manifest: { subject?: { digest?: string }; layers?: Array<{ digest?: string; size?: number }> };
    try {
      manifest = JSON.parse(new TextDecoder().decode(response.body));
    } catch {
      throw new RegistryError(`referrer ${d.digest} is not JSON`);
    }
    if (typeof manifest !== 'object' || manifest === null) throw new RegistryError(`referrer ${d.digest} is not a manifest`);
    if (manifest.subject?.digest !== subject) throw new RegistryError(`referrer ${d.digest} names another subject`);
    const layer = manifest.layers?.[0];
    if (!Array.isArray(manifest.layers) || !layer || typeof layer.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(layer.digest) || typeof layer.size !== 'number' || layer.size > 1 << 20) throw new RegistryError(`referrer ${d.digest} has no usable layer`);
    const blob = await client.send('GET', `/v2/${ref.repository}/blobs/${layer.digest}`, { maxBytes: layer.size, scope });
    if (blob.status !== 200 || sha256(blob.body) !== layer.digest) throw new RegistryError(`signature blob ${layer.digest} does not match its digest`);
    out.push(blob.body);
  }
  return out;
}
