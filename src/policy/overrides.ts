// Command-line flags on top of a policy: each flag replaces (or, for mounts and
// environment, adds to) what the policy says. The result is a new frozen policy.

import { wasiPreview1Functions } from '../binary/wasi-abi.js';
import type { ClockPolicy } from '../wasi/clocks.js';
import type { RandomPolicy } from '../wasi/random.js';
import { parsePolicy } from './load.js';
import type { LimitsPolicy, MountPolicy, Policy, StdinPolicy } from './policy.js';

export interface Overrides {
  mounts?: MountPolicy[];
  env?: Array<[string, string]>;
  clock?: ClockPolicy;
  random?: RandomPolicy;
  stdin?: StdinPolicy;
  stdout?: Policy['stdout'];
  stderr?: Policy['stderr'];
  limits?: Partial<LimitsPolicy>;
  isolation?: Policy['isolation'];
  unknownImports?: Policy['unknownImports'];
}

export function applyOverrides(policy: Policy, o: Overrides): Policy {
  const mounts = [...policy.mounts, ...(o.mounts ?? [])];
  const guests = new Set<string>();
  for (const m of mounts) {
    if (guests.has(m.guest)) throw new Error(`'${m.guest}' is mounted twice`);
    guests.add(m.guest);
  }
  const env = new Map(policy.env.map(([k, v]) => [k, v] as const));
  for (const [k, v] of o.env ?? []) env.set(k, v);
  const next: Policy = {
    ...policy,
    mounts: Object.freeze(mounts),
    env: Object.freeze([...env].map((e) => Object.freeze(e))),
    clock: o.clock ?? policy.clock,
    random: o.random ?? policy.random,
    stdin: o.stdin ?? policy.stdin,
    stdout: o.stdout ?? policy.stdout,
    stderr: o.stderr ?? policy.stderr,
    limits: Object.freeze({ ...policy.limits, ...o.limits }),
    isolation: o.isolation ?? policy.isolation,
    unknownImports: o.unknownImports ?? policy.unknownImports,
  };
  return Object.freeze(next);
}

/**
 * What `warden run` grants without a policy file: the CLI defaults of
 * docs/wasi.md, and every preview1 import, so a program that imports file or
 * socket functions still runs (as under Wasmtime's CLI) and is refused what it
 * was not granted when it asks, with an errno. Admission's other rules apply.
 */
export function commandLinePolicy(): Policy {
  return parsePolicy({
    clock: 'coarse:1ms',
    random: 'os',
    stdio: { stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' },
    imports: { allow: Object.keys(wasiPreview1Functions) },
    // The CLI's own default (docs/RATIONALE.md: "warden run's isolation").
    isolation: 'none',
  });
}
