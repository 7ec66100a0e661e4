// The policy: everything a module is granted and limited to, as one frozen,
// validated value. Deny by default: the empty policy grants stdout and stderr
// and nothing else the guest could use to reach the host.

import type { PublicKey } from '../signing/keys.js';
import type { HardenPassName } from '../transform/harden-passes.js';
import type { ClockPolicy } from '../wasi/clocks.js';
import type { RandomPolicy } from '../wasi/random.js';

export type MountPolicy =
  | { kind: 'host'; host: string; guest: string; readOnly: boolean }
  | { kind: 'tmpfs'; guest: string }
  /** One host file, read-only: a snapshot taken when the run starts, alone in its guest directory. */
  | { kind: 'file'; host: string; guest: string };

export type StdinPolicy = { kind: 'none' } | { kind: 'inherit' } | { kind: 'file'; path: string };
export type OutputPolicy = 'capture' | 'inherit' | 'discard';

export interface LimitsPolicy {
  /** Linear memory, bytes (rounded down to 64 KiB pages). */
  memory: number;
  /** Elements of all tables together (initial plus growth). */
  tableElements: number;
  /** Tables a module may declare. */
  tables: number;
  /** Memories a module may declare (more than 1 also needs the multi-memory feature). */
  memories: number;
  /** Instructions, about one unit each; null for no fuel metering. */
  fuel: number | null;
  /** Wall-clock ms per run; null for none. */
  timeoutMs: number | null;
  outputBytes: number;
  fds: number;
  files: number;
  writeBytes: number;
  moduleBytes: number;
  functions: number;
  dataBytes: number;
  /** Runs at once in one sandbox; more wait, up to `queue`, and beyond that are refused. */
  concurrency: number;
  queue: number;
}

export const FEATURES = [
  'sign-extension', 'nontrapping-fptoint', 'multi-value', 'bulk-memory', 'reference-types', 'simd', 'relaxed-simd',
  'tail-call', 'exceptions-legacy', 'exceptions', 'threads', 'memory64', 'multi-memory', 'gc', 'extended-const',
] as const;
export type FeatureName = (typeof FEATURES)[number];

export interface Policy {
  mounts: readonly MountPolicy[];
  args: readonly string[];
  env: readonly (readonly [string, string])[];
  /** null: no clock is granted (clock imports are refused at admission). */
  clock: ClockPolicy | null;
  /** null: no random source is granted. */
  random: RandomPolicy | null;
  stdin: StdinPolicy;
  stdout: OutputPolicy;
  stderr: OutputPolicy;
  /** WASI functions allowed beyond those the grants imply. */
  extraImports: readonly string[];
  /** Imports neither WASI nor granted: refused at admission, or linked to stubs that trap or return zeros when called. */
  unknownImports: 'refuse' | 'trap' | 'zero';
  limits: LimitsPolicy;
  /** Proposals a module may use beyond the 1.0 core. */
  features: ReadonlySet<FeatureName>;
  /** Where guests run: the caller's thread (none), a worker thread, or a child process. */
  isolation: 'none' | 'thread' | 'process';
  /** If not empty, only modules whose SHA-256 is listed are admitted. */
  pins: readonly string[];
  /** Plugins called through the Extism kernel ABI (warden call, sandbox.callPlugin): their config and bounds. */
  plugin: PluginPolicy;
  /** Hardening passes applied at admission (transform/harden.ts), in canonical order; empty for none. */
  harden: readonly HardenPassName[];
  /** Keys whose signatures count, and how many distinct ones must have signed (0: no signature needed). */
  trust: { keys: readonly PublicKey[]; require: number };
}

export interface PluginPolicy {
  /** What config_get answers: the only configuration a plugin can read. */
  config: Readonly<Record<string, string>>;
  /** Plugin memory per call (the kernel's blocks), bytes: alloc fails beyond. */
  memoryBytes: number;
  /** Variables kept between calls, keys and values, bytes: var_set traps beyond. */
  varBytes: number;
  /** Log lines kept per call: more are counted and dropped. */
  logLines: number;
  /** Origins (scheme, host, port) http_request may reach; none: the plugin may not import it. */
  httpHosts: readonly string[];
  /** Response bodies http_request may bring in, bytes: larger ones fail the call (host-limit). */
  httpResponseBytes: number;
}

export const DEFAULT_PLUGIN: Readonly<PluginPolicy> = Object.freeze({
  config: Object.freeze({}),
  memoryBytes: 64 * 1024 * 1024,
  varBytes: 1024 * 1024,
  logLines: 1000,
  httpHosts: Object.freeze([]) as readonly string[],
  httpResponseBytes: 1024 * 1024,
});

export const DEFAULT_FEATURES: readonly FeatureName[] = [
  'sign-extension', 'nontrapping-fptoint', 'multi-value', 'bulk-memory', 'reference-types', 'simd', 'tail-call', 'extended-const',
];

export const DEFAULT_LIMITS: Readonly<LimitsPolicy> = Object.freeze({
  memory: 1024 * 1024 * 1024,
  // Real modules declare 441-10,266 elements; V8's own limit (10M) cost 4-11 s past a deadline in one
  // table.grow on the caller's thread, and about 300 MiB (docs/RATIONALE.md, "One budget for all tables").
  tableElements: 1_000_000,
  tables: 16,
  memories: 1,
  fuel: null,
  timeoutMs: null,
  outputBytes: 1024 * 1024 * 1024,
  fds: 256,
  files: 10_000,
  writeBytes: 256 * 1024 * 1024,
  moduleBytes: 256 * 1024 * 1024,
  functions: 1_000_000,
  dataBytes: 256 * 1024 * 1024,
  concurrency: 4,
  queue: 64,
});
