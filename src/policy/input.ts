// The policy as code writes it (createSandbox({ … })): a typed PolicyInput, so
// a misspelt key or a unit-less size fails at compile time. At run time the
// same rule holds for plain JavaScript callers: a size or a duration given as a
// bare number is refused with a message naming the units (`memory: 64` was 64
// bytes, and every run was then refused with a puzzling message). Policy files
// keep their documented forms (a TOML number of bytes or milliseconds).

import { LIMIT_KEYS } from './limit-keys.js';
import { parsePolicy, PolicyError } from './load.js';
import type { FeatureName, Policy } from './policy.js';

export type SizeUnit = 'B' | 'KiB' | 'MiB' | 'GiB' | 'TiB' | 'KB' | 'kB' | 'MB' | 'GB';
/** `'64MiB'`, `'1GiB'`, `'4096B'`: a number with its unit. */
export type Size = `${number}${SizeUnit}`;
export type DurationUnit = 'us' | 'ms' | 's' | 'm' | 'min' | 'h';
/** `'500ms'`, `'2s'`, `'1m'`: a number with its unit. */
export type Duration = `${number}${DurationUnit}`;

export type MountInput =
  /** A host directory; read-only unless `mode: 'rw'`. */
  | { kind?: 'host'; host: string; guest: string; mode?: 'ro' | 'rw' }
  /** Empty scratch space, removed after each run. */
  | { kind: 'tmpfs'; guest: string }
  /** One host file, read-only, at an absolute guest file path. */
  | { kind: 'file'; host: string; guest: string; mode?: 'ro' };

export interface LimitsInput {
  memory?: Size;
  'table-elements'?: number;
  /** Instructions, about one unit each; 0: off. */
  fuel?: number;
  /** Wall-clock limit per run; `'0s'`: none. */
  timeout?: Duration;
  output?: Size;
  fds?: number;
  files?: number;
  write?: Size;
  'module-size'?: Size;
  functions?: number;
  data?: Size;
  concurrency?: number;
  queue?: number;
}

export type ClockInput = 'none' | 'real' | 'frozen' | 'coarse' | 'virtual' | `coarse:${number}${'ns' | 'us' | 'ms' | 's'}` | `virtual:${number}${'ns' | 'us' | 'ms' | 's'}`;

/** Everything docs/policy.md describes, as code writes it. */
export interface PolicyInput {
  mount?: MountInput[];
  args?: string[];
  env?: Record<string, string>;
  clock?: ClockInput;
  random?: 'none' | 'os' | `seeded:${number}`;
  stdio?: { stdin?: 'none' | 'inherit' | `file:${string}`; stdout?: 'capture' | 'inherit' | 'discard'; stderr?: 'capture' | 'inherit' | 'discard' };
  imports?: { allow?: string[]; unknown?: 'refuse' | 'trap' | 'zero' };
  limits?: LimitsInput;
  features?: Partial<Record<FeatureName, boolean>>;
  isolation?: 'none' | 'thread' | 'process';
  trust?: { keys?: string[]; require?: 'none' | 'any' | number; pins?: string[] };
  plugin?: { config?: Record<string, string>; memory?: Size; vars?: Size; logs?: number; http_hosts?: string[]; http_response?: Size };
}

const EXAMPLE: Record<'size' | 'duration', string> = {
  size: "'64MiB', '1GiB' or '4096B' (units: B, KiB, MiB, GiB, TiB, KB, MB, GB)",
  duration: "'500ms' or '2s' (units: us, ms, s, m, h)",
};

/** Problems with sizes and durations given as bare numbers, with their key paths. */
export function bareNumberProblems(input: unknown): string[] {
  const limits = (input as { limits?: unknown } | null)?.limits;
  if (typeof limits !== 'object' || limits === null) return [];
  const problems: string[] = [];
  for (const { key, kind } of LIMIT_KEYS) {
    if (kind === 'count') continue;
    const value = (limits as Record<string, unknown>)[key];
    if (typeof value === 'number' || typeof value === 'bigint') {
      problems.push(`limits.${key}: ${String(value)} is a bare number; give the unit, e.g. ${EXAMPLE[kind]}`);
    }
  }
  return problems;
}

/**
 * Validates a policy written in code. Relative paths (mounts, key files) are
 * read from `baseDir` (default: the process's working directory when the runs
 * happen). Every problem is reported at once, with its key path.
 */
export function parsePolicyInput(input: PolicyInput, baseDir?: string): Policy {
  const problems = bareNumberProblems(input);
  try {
    const policy = parsePolicy(input, undefined, baseDir);
    if (problems.length) throw new PolicyError(problems);
    return policy;
  } catch (error) {
    if (error instanceof PolicyError && problems.length) throw new PolicyError([...new Set([...problems, ...error.problems])]);
    throw error;
  }
}
