// Exactly what preparing a module reads of a policy and its grants, as one
// plain value: prepare takes this, never the policy, so a policy value that
// signature checks, admission or a rewrite comes to read must be added here
// (or the code does not compile), and whatever is here is hashed into the
// prepared-module cache's key. Values prepare does not read (env, args, which
// directory a mount names, output limits, isolation) stay out: changing them
// keeps the cache warm.

import { sha256Hex } from './digest.js';
import type { Policy } from '../policy/policy.js';
import type { PublicKey } from '../signing/keys.js';
import type { HardenPassName } from '../transform/harden-passes.js';
import type { AdmissionPolicy } from './admission.js';
import type { HostFunctionSignature } from './host-functions.js';

export interface PrepareConfig extends AdmissionPolicy {
  /** Signatures checked before anything is decoded (signing/verify.ts). */
  trust: { keys: readonly PublicKey[]; require: number };
  /** Hardening passes compiled into the code (transform/harden.ts). */
  harden: readonly HardenPassName[];
  limits: AdmissionPolicy['limits'] & {
    /** The fuel budget rewritten into the bytes; null for no metering. */
    fuel: number | null;
    /** Whether the deadline checkpoint is rewritten in (a deadline is set); its length is the executor's. */
    deadline: boolean;
  };
  /** Granted host functions by module, name and signature (admission links only exact matches). */
  hostFunctions: readonly HostFunctionSignature[];
  /** The export admission requires (`_start`), or null when each run admits its own. */
  entry: string | null;
  /**
   * Whether the rewrite moves the module's memory to the host (transform/host-memory.ts), so each run
   * lends the instance a zeroed memory from its thread's pool: for hosts that run many instances, not a
   * one-shot run, which keeps the module's own memory (and its lazily validated compile).
   */
  hostMemory: boolean;
}

// Stand-ins for grants admission only asks the presence of (impliedImports).
const GRANTED: readonly unknown[] = Object.freeze(['granted']);

/** The one projection of a policy onto what preparing a module reads. */
export function prepareConfig(policy: Policy, hostFunctions: readonly HostFunctionSignature[] = [], entry: string | null = '_start', hostMemory = false): PrepareConfig {
  const { limits } = policy;
  return {
    // The keys are read only when signatures are required.
    trust: policy.trust.require > 0 ? { keys: policy.trust.keys, require: policy.trust.require } : { keys: [], require: 0 },
    pins: policy.pins,
    mounts: policy.mounts.length > 0 ? GRANTED : [],
    clock: policy.clock ? 'granted' : null,
    random: policy.random ? 'granted' : null,
    extraImports: policy.extraImports,
    unknownImports: policy.unknownImports,
    features: policy.features,
    pluginHttp: policy.plugin.httpHosts.length === 0 ? 'none' : policy.isolation === 'thread' ? 'granted' : 'needs-thread',
    harden: policy.harden,
    limits: {
      moduleBytes: limits.moduleBytes,
      memory: limits.memory,
      tables: limits.tables,
      tableElements: limits.tableElements,
      memories: limits.memories,
      functions: limits.functions,
      dataBytes: limits.dataBytes,
      fuel: limits.fuel,
      deadline: limits.timeoutMs !== null,
    },
    // Signatures only: a host function's body (a closure, a module path) is not prepare's business.
    hostFunctions: hostFunctions.map(({ module, name, params, results }) => ({ module, name, params: [...params], results: [...results] })),
    entry,
    hostMemory,
  };
}

/**
 * SHA-256 over a canonical encoding of the whole config: object keys sorted,
 * sets sorted, bytes in hex, a public key by its raw bytes and key id. A value
 * of any other kind throws, so nothing added to the config is hashed as
 * nothing.
 */
export function configHash(config: PrepareConfig): string {
  return sha256Hex(canonical(config));
}

function canonical(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`prepare config: ${value} cannot be hashed`);
    return JSON.stringify(value);
  }
  if (value instanceof Uint8Array) return `"hex:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}"`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value instanceof Set) return `{"set":[${[...value].map(canonical).sort().join(',')}]}`;
  if (isPublicKey(value)) return `{"key":[${canonical(value.raw)},${canonical(value.keyId)}]}`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  throw new TypeError(`prepare config: a value of type ${typeof value} (${Object.prototype.toString.call(value)}) cannot be hashed`);
}

function isPublicKey(value: unknown): value is PublicKey {
  return typeof value === 'object' && value !== null && (value as PublicKey).raw instanceof Uint8Array && (value as PublicKey).keyId instanceof Uint8Array && 'object' in value;
}
