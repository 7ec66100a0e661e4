// Clocks as capabilities. The only file that reads the host's time. A clock
// policy decides what the guest may observe:
//   real      the host clocks as they are;
//   coarse    multiples of a resolution (default 1 ms), never backwards, the
//             step taken at a jittered moment so edges cannot be timed;
//   frozen    time does not advance while the guest runs;
//   virtual   deterministic: starts at a fixed instant, advances a fixed step per read.

import { randomUint32 } from './lazy-builtins.js';

export type ClockPolicy =
  | { kind: 'real' }
  | { kind: 'coarse'; resolutionNs: bigint }
  | { kind: 'frozen' }
  | { kind: 'virtual'; stepNs: bigint; startNs?: bigint };

/** WASI clock ids. */
export const CLOCK = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 } as const;

export interface Clocks {
  readonly policy: ClockPolicy;
  /** Time of clock `id` in ns; undefined for an unknown id. */
  now(id: number): bigint | undefined;
  resolution(id: number): bigint | undefined;
  /** Wall-clock ns for timestamps the guest sets to "now". */
  wallNow(): bigint;
}

const hostMonotonic = (): bigint => process.hrtime.bigint();
const hostRealtime = (): bigint => BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);

/** Parses `real`, `coarse`, `coarse:5ms`, `frozen`, `virtual`, `virtual:1us`. */
export function parseClockPolicy(text: string): ClockPolicy {
  const [kind, arg] = text.split(':', 2) as [string, string | undefined];
  const duration = (value: string): bigint => {
    const match = /^(\d+)(ns|us|ms|s)?$/.exec(value);
    if (!match) throw new Error(`'${value}' is not a duration (e.g. 1ms, 100us)`);
    const n = BigInt(match[1]!);
    const scale = { ns: 1n, us: 1000n, ms: 1_000_000n, s: 1_000_000_000n }[match[2] ?? 'ms']!;
    if (n * scale <= 0n) throw new Error('the resolution must be positive');
    return n * scale;
  };
  switch (kind) {
    case 'real': if (arg) break; return { kind: 'real' };
    case 'frozen': if (arg) break; return { kind: 'frozen' };
    case 'coarse': return { kind: 'coarse', resolutionNs: arg ? duration(arg) : 1_000_000n };
    case 'virtual': return { kind: 'virtual', stepNs: arg ? duration(arg) : 1_000_000n };
  }
  throw new Error(`unknown clock policy '${text}' (real, coarse[:RES], frozen, virtual[:STEP])`);
}

function knownId(id: number): boolean {
  return id >= 0 && id <= 3;
}

/** Host time of each clock id (cputime clocks read the monotonic clock, as Wasmtime does). */
function hostNow(id: number): bigint {
  return id === CLOCK.REALTIME ? hostRealtime() : hostMonotonic();
}

class RealClocks implements Clocks {
  readonly policy = { kind: 'real' } as const;
  now(id: number) { return knownId(id) ? hostNow(id) : undefined; }
  resolution(id: number) { return knownId(id) ? 1n : undefined; }
  wallNow() { return hostRealtime(); }
}

/**
 * Coarse clocks. Each clock keeps the last value it returned and the host
 * time at which it may next step; the step moment is jittered within one
 * resolution so a guest cannot find edges by spinning, and the value is always
 * a multiple of the resolution that never goes backwards.
 */
class CoarseClocks implements Clocks {
  readonly policy: ClockPolicy;
  private readonly last = [0n, 0n, 0n, 0n];
  /** Host monotonic ms (a double, cheap to read) before which each clock keeps its last value. */
  private readonly nextStepMs = [0, 0, 0, 0];
  private readonly resolutionMs: number;

  constructor(private readonly resolutionNs: bigint) {
    this.policy = { kind: 'coarse', resolutionNs };
    this.resolutionMs = Number(resolutionNs) / 1e6;
  }

  now(id: number): bigint | undefined {
    if (!knownId(id)) return undefined;
    const nowMs = performance.now();
    if (nowMs < this.nextStepMs[id]!) return this.last[id]!;
    const host = hostNow(id);
    const floored = host - (host % this.resolutionNs);
    if (floored > this.last[id]!) this.last[id] = floored;
    // The next step comes one resolution after this edge, plus a random part of one more.
    const sinceEdgeMs = Number(host - floored) / 1e6;
    const jitterMs = (this.resolutionMs * randomUint32()) / 2 ** 32;
    this.nextStepMs[id] = nowMs - sinceEdgeMs + this.resolutionMs + jitterMs;
    return this.last[id]!;
  }

  resolution(id: number) { return knownId(id) ? this.resolutionNs : undefined; }
  wallNow() { return this.now(CLOCK.REALTIME)!; }
}

/** Time stands still at the moment the run started. */
class FrozenClocks implements Clocks {
  readonly policy = { kind: 'frozen' } as const;
  private readonly at = [hostRealtime(), hostMonotonic(), 0n, 0n];
  now(id: number) { return knownId(id) ? this.at[id]! : undefined; }
  resolution(id: number) { return knownId(id) ? 1_000_000n : undefined; }
  wallNow() { return this.at[0]!; }
}

/** 2022-01-01T00:00:00Z, the epoch of virtual time (a fixed, plausible date). */
const VIRTUAL_START = 1_640_995_200_000_000_000n;

class VirtualClocks implements Clocks {
  readonly policy: ClockPolicy;
  private readonly values: bigint[];
  constructor(private readonly stepNs: bigint, start: bigint) {
    this.policy = { kind: 'virtual', stepNs, startNs: start };
    this.values = [start, 0n, 0n, 0n];
  }
  now(id: number): bigint | undefined {
    if (!knownId(id)) return undefined;
    this.values[id]! += this.stepNs;
    return this.values[id]!;
  }
  resolution(id: number) { return knownId(id) ? this.stepNs : undefined; }
  wallNow() { return this.values[0]!; }
}

export function createClocks(policy: ClockPolicy): Clocks {
  switch (policy.kind) {
    case 'real': return new RealClocks();
    case 'coarse': return new CoarseClocks(policy.resolutionNs);
    case 'frozen': return new FrozenClocks();
    case 'virtual': return new VirtualClocks(policy.stepNs, policy.startNs ?? VIRTUAL_START);
  }
}

/** The host's monotonic time in ms, for deadlines. Separate from what the guest sees. */
export function hostMonotonicMs(): number {
  return Number(hostMonotonic() / 1000n) / 1000;
}
