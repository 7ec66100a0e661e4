// A grant: everything one run may reach, as plain data. It can cross into a
// worker or child process as is; `openGrant` turns it into live capabilities
// (directory handles, clocks, a random source, stdio) for exactly one run.

import type { ClockPolicy } from './clocks.js';
import type { RandomPolicy } from './random.js';
import type { OutputSpec, StdinSpec } from './stdio.js';
import { checkGrantShape } from './grant-check.js';

export interface MountSpec {
  /** Host directory to grant. */
  host: string;
  /** The path the guest sees (its preopen name). */
  guest: string;
  readOnly: boolean;
}

export interface GrantLimits {
  /** Open descriptors, stdio and preopens included. Past it: EMFILE. */
  maxFds: number;
  /** Files, directories and links created. Past it: EDQUOT. */
  maxFilesCreated: number;
  /** Storage the guest makes the host keep: blocks and apparent size of files, directories, symlink targets (fs/quota.ts). Past it: EDQUOT. */
  maxWriteBytes: number;
  /** stdout plus stderr. Past it the run ends (trap `output-limit`). */
  maxOutputBytes: number;
  /** Wall-clock ms for the run; blocking calls end there, and running code is preempted. */
  timeoutMs: number | null;
  /** One random_get call may fill at most this many bytes (EINVAL beyond). */
  maxRandomBytesPerCall: number;
}

export interface GrantSpec {
  args: readonly string[];
  env: readonly (readonly [string, string])[];
  mounts: readonly MountSpec[];
  clock: ClockPolicy;
  random: RandomPolicy;
  stdin: StdinSpec;
  stdout: OutputSpec;
  stderr: OutputSpec;
  limits: GrantLimits;
}

/** The library's defaults: stricter than the CLI's (no stdin, output captured). */
export const defaultLimits: Readonly<GrantLimits> = Object.freeze({
  maxFds: 256,
  maxFilesCreated: 10_000,
  maxWriteBytes: 256 * 1024 * 1024,
  maxOutputBytes: 1024 * 1024 * 1024,
  timeoutMs: null,
  maxRandomBytesPerCall: 64 * 1024 * 1024,
});

export function defineGrant(partial: Partial<Omit<GrantSpec, 'limits'>> & { limits?: Partial<GrantLimits> } = {}): GrantSpec {
  const grant: GrantSpec = {
    args: partial.args ?? [],
    env: partial.env ?? [],
    mounts: partial.mounts ?? [],
    clock: partial.clock ?? { kind: 'coarse', resolutionNs: 1_000_000n },
    random: partial.random ?? { kind: 'os' },
    stdin: partial.stdin ?? { kind: 'none' },
    stdout: partial.stdout ?? { kind: 'capture' },
    stderr: partial.stderr ?? { kind: 'capture' },
    limits: Object.freeze({ ...defaultLimits, ...partial.limits }),
  };
  checkGrantShape(grant);
  return Object.freeze(grant);
}
