// References to modules: a store digest (`sha256:<64 hex>`, the SHA-256 of the
// module's bytes) or an OCI reference (`REGISTRY/REPO:TAG` or
// `REGISTRY/REPO@sha256:<manifest digest>`). The two are never confused: a
// store digest has no slash, an OCI reference always has a registry and a repository.

export class ReferenceError extends Error {
  override name = 'ReferenceError';
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isStoreDigest(text: string): boolean {
  return DIGEST.test(text);
}

export interface OciReference {
  registry: string;
  repository: string;
  tag: string | null;
  digest: string | null;
}

// Registry: a host name or address with an optional port; repository: lowercase path components.
const REGISTRY = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function parseOciReference(text: string): OciReference {
  if (text.length > 1024) throw new ReferenceError('reference too long');
  if (isStoreDigest(text)) throw new ReferenceError(`'${text}' is a store digest, not a registry reference (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:…)`);
  let rest = text;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ReferenceError(`'${digest}' is not a sha256:<64 hex> digest`);
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) throw new ReferenceError(`'${text}' names no registry (expected REGISTRY/REPO:TAG)`);
  const registry = rest.slice(0, slash);
  let path = rest.slice(slash + 1);
  let tag: string | null = null;
  const colon = path.lastIndexOf(':');
  if (colon !== -1) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) throw new ReferenceError(`'${tag}' is not a valid tag`);
  }
  if (!REGISTRY.test(registry)) throw new ReferenceError(`'${registry}' is not a registry host`);
  if (!REPOSITORY.test(path) || path.length > 255) throw new ReferenceError(`'${path}' is not a valid repository name`);
  if (!tag && !digest) throw new ReferenceError(`'${text}' has neither a tag nor a digest`);
  return { registry, repository: path, tag, digest };
}

/** Where a module named on a command line (or in a request) comes from. */
export type ModuleSource = { kind: 'store'; digest: string } | { kind: 'path'; path: string };

// Strings that claim to be a digest: a hash algorithm's name and a colon. A
// file really named like that is still reachable as ./NAME.
const DIGEST_LIKE = /^(sha-?\d+|md5|blake[23]\w*)\s*:/i;
const HEX64 = /^[0-9a-fA-F]{64}$/;

const shown = (text: string): string => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

/**
 * Classifies a module argument: a store digest (`sha256:<64 lowercase hex>`)
 * or a path. Refuses, with the reason, anything that claims to be a digest
 * but is malformed, and registry references (they must be pulled first).
 */
export function classifyModuleRef(text: string): ModuleSource {
  if (isStoreDigest(text)) return { kind: 'store', digest: text };
  const claim = DIGEST_LIKE.exec(text);
  if (claim) {
    const algorithm = claim[1]!;
    const hex = text.slice(claim[0].length);
    if (algorithm !== 'sha256' || claim[0] !== 'sha256:') {
      throw new ReferenceError(`${shown(text)} is not a store digest: store digests are sha256:<64 hex> (for a file of that name, prefix it with ./)`);
    }
    const why = HEX64.test(hex) ? 'its hex digits must be lowercase'
      : /^[0-9a-fA-F]*$/.test(hex) ? `it has ${hex.length} hex digits, not 64`
      : 'it contains characters that are not hex digits';
    throw new ReferenceError(`${shown(text)} is not a valid store digest: ${why} (for a file of that name, prefix it with ./)`);
  }
  if (/@sha256:/i.test(text)) {
    throw new ReferenceError(`${shown(text)} is a registry reference, not a module: fetch it first (warden pull REF --store) and use the store digest it prints`);
  }
  return { kind: 'path', path: text };
}

export function formatOciReference(ref: OciReference): string {
  return `${ref.registry}/${ref.repository}${ref.digest ? '@' + ref.digest : ':' + ref.tag}`;
}
