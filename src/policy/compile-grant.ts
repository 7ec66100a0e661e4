// A policy and one run's inputs become the plain-data grant the WASI layer
// runs under. Scratch mounts are created here and removed by the caller.

import { copyFileSync } from 'node:fs';
import { defineGrant, type GrantSpec, type MountSpec } from '../wasi/grant.js';
import { RunRefused } from '../wasi/run.js';
import type { StdinSpec } from '../wasi/stdio.js';
import type { Policy } from './policy.js';

export interface RunInputs {
  /** Replaces the policy's args (argv[0] included). */
  args?: readonly string[];
  /** Added to (and overriding) the policy's environment. */
  env?: Readonly<Record<string, string>>;
  /** Replaces the policy's stdin with these bytes. */
  stdin?: Uint8Array | string;
}

/**
 * A run's own inputs come from the embedder's code, perhaps plain JavaScript: checked alike on both
 * paths to a grant (a template's, the common one, and a compiled one, whose defineGrant checks its
 * whole shape), so `args: [1]` is refused whatever the policy rather than on one path and
 * coerced on the other, and a stdin of the wrong type never reaches the guest's first read.
 */
function checkRunInputs(inputs: RunInputs): void {
  if (inputs.args !== undefined && (!Array.isArray(inputs.args) || !inputs.args.every((a) => typeof a === 'string'))) {
    throw new TypeError('run: args must be an array of strings');
  }
  if (inputs.env !== undefined && (typeof inputs.env !== 'object' || inputs.env === null || !Object.values(inputs.env).every((v) => typeof v === 'string'))) {
    throw new TypeError('run: env must be an object whose values are strings');
  }
  if (inputs.stdin !== undefined && typeof inputs.stdin !== 'string' && !(inputs.stdin instanceof Uint8Array)) {
    throw new TypeError('run: stdin must be a string or a Uint8Array');
  }
}

/** A clock for runs whose policy grants none: time stands at the epoch, so nothing can be measured. */
const NO_CLOCK = { kind: 'virtual', stepNs: 0n, startNs: 0n } as const;

/**
 * Single-file mounts: each file is copied (a snapshot) into a scratch
 * directory per guest directory, which is mounted read-only. Nothing else of
 * the host directory that holds the file is reachable.
 */
function fileMounts(policy: Policy, scratch: (guest: string) => string): MountSpec[] {
  const dirs = new Map<string, string>();
  for (const m of policy.mounts) {
    if (m.kind !== 'file') continue;
    const slash = m.guest.lastIndexOf('/');
    const guestDir = slash === 0 ? '/' : m.guest.slice(0, slash);
    let dir = dirs.get(guestDir);
    if (!dir) dirs.set(guestDir, (dir = scratch(guestDir)));
    try {
      copyFileSync(m.host, `${dir}/${m.guest.slice(slash + 1)}`);
    } catch (error) {
      throw new RunRefused(`cannot mount file ${m.host}: ${(error as NodeJS.ErrnoException).code ?? error}`);
    }
  }
  return [...dirs].map(([guest, host]) => ({ host, guest, readOnly: true }));
}

export function compileGrant(policy: Policy, inputs: RunInputs, scratch: (guest: string) => string): GrantSpec {
  checkRunInputs(inputs);
  const mounts: MountSpec[] = policy.mounts.flatMap((m): MountSpec[] =>
    m.kind === 'host' ? [{ host: m.host, guest: m.guest, readOnly: m.readOnly }]
      : m.kind === 'tmpfs' ? [{ host: scratch(m.guest), guest: m.guest, readOnly: false }] : [],
  );
  mounts.push(...fileMounts(policy, scratch));
  const env = new Map(policy.env.map(([k, v]) => [k, v] as const));
  for (const [k, v] of Object.entries(inputs.env ?? {})) env.set(k, v);
  let stdin: StdinSpec;
  if (inputs.stdin !== undefined) stdin = { kind: 'buffer', data: typeof inputs.stdin === 'string' ? new TextEncoder().encode(inputs.stdin) : inputs.stdin };
  else if (policy.stdin.kind === 'inherit') stdin = { kind: 'fd', fd: 0 };
  else if (policy.stdin.kind === 'file') stdin = { kind: 'file', path: policy.stdin.path };
  else stdin = { kind: 'none' };
  const output = (o: Policy['stdout']) => (o === 'capture' ? { kind: 'capture' as const } : o === 'inherit' ? { kind: 'inherit' as const } : { kind: 'discard' as const });
  const { limits } = policy;
  return defineGrant({
    args: inputs.args ?? (policy.args.length ? policy.args : ['module.wasm']),
    env: [...env],
    mounts,
    clock: policy.clock ?? NO_CLOCK,
    // No random source granted: a fixed seed, never reached because admission refuses random_get.
    random: policy.random ?? { kind: 'seeded', seed: 0 },
    stdin,
    stdout: output(policy.stdout),
    stderr: output(policy.stderr),
    limits: {
      maxFds: limits.fds,
      maxFilesCreated: limits.files,
      maxWriteBytes: limits.writeBytes,
      maxOutputBytes: limits.outputBytes,
      timeoutMs: limits.timeoutMs,
    },
  });
}

/**
 * What a policy's grant is for every run, made once: for a policy whose
 * mounts need nothing made per run (no tmpfs, no single-file mounts). A
 * server's tenant runs many requests under one policy, and compiling the
 * grant afresh per request was a measurable share of the request's
 * main-thread time (docs/RATIONALE.md, "Serve: the grant made once per
 * policy"). Null when the policy needs scratch per run: use compileGrant.
 */
export interface GrantTemplate {
  readonly base: GrantSpec;
}

export function grantTemplate(policy: Policy): GrantTemplate | null {
  if (policy.mounts.some((m) => m.kind !== 'host')) return null;
  const base = compileGrant(policy, {}, () => {
    throw new Error('a policy with scratch mounts has no grant template');
  });
  // Shared by every run: nothing may change it after this.
  for (const pair of base.env) Object.freeze(pair);
  Object.freeze(base.env);
  for (const mount of base.mounts) Object.freeze(mount);
  Object.freeze(base.mounts);
  Object.freeze(base.args);
  return Object.freeze({ base });
}

/** The grant for one run: the template with this run's args, environment and stdin; equal to compileGrant(policy, inputs). */
export function grantFor(template: GrantTemplate, inputs: RunInputs): GrantSpec {
  checkRunInputs(inputs);
  const { base } = template;
  let env = base.env;
  if (inputs.env !== undefined) {
    if (base.env.length === 0) {
      env = Object.entries(inputs.env);
    } else {
      const merged = new Map(base.env);
      for (const [k, v] of Object.entries(inputs.env)) merged.set(k, v);
      env = [...merged];
    }
  }
  const stdin: StdinSpec = inputs.stdin === undefined ? base.stdin
    : { kind: 'buffer', data: typeof inputs.stdin === 'string' ? new TextEncoder().encode(inputs.stdin) : inputs.stdin };
  return Object.freeze({ ...base, args: inputs.args ?? base.args, env, stdin });
}
