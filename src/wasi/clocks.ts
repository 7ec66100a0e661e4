// Clocks as capabilities. The only file that reads the host's time. A clock
// policy decides what the guest may observe:
//   real      the host clocks as they are;
//   coarse    multiples of a resolution (default 1 ms), never backwards, the
//             step taken at a jittered moment so edges cannot be timed;
//   frozen    time does not advance while the guest runs;
//   virtual   deterministic: starts at a fixed instant, advances a fixed step per read.

import { fillRandom } from './random-bytes.js';

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
  /**
   * A file timestamp the host produced (realtime ns), as this policy lets the
   * guest see it: no finer than the realtime clock's resolution, and never
   * showing a moment of the run that the clock itself would not show.
   */
  fileTime(hostNs: bigint): bigint;
}

/**
 * hostRealtime() joins Date.now()'s milliseconds to hrtime's sub-millisecond
 * part, so it can sit up to 1 ms off the kernel's file stamps (which follow
 * the kernel's own tick); comparisons of stamps against it allow a second.
 */
const STAMP_SLACK_NS = 1_000_000_000n;

/** A stamp later than the host's present (plus slack): a file dated ahead, not a moment of this run. */
const datedAhead = (hostNs: bigint): boolean => hostNs > hostRealtime() + STAMP_SLACK_NS;

/** At most this many file stamps keep the value first shown for them (oldest forgotten first). */
const MAX_SHOWN_STAMPS = 16_384;

/**
 * The value first shown for a host stamp, so the same stamp always reads the
 * same (a guest that sets mtim checks that atim did not move). Needed where
 * what is shown depends on when it is first read: a coarse stamp held back to
 * the clock, a virtual stamp read as the virtual present.
 */
class ShownStamps {
  /** Keyed by ns since `base` as a Number (exact for 104 days), which a Map hashes far faster than a BigInt. */
  private readonly shown = new Map<number, bigint>();
  /** Only stamps made from here on (the run's start, less slack) are ever remembered. */
  constructor(private readonly base: bigint) {}
  get(hostNs: bigint): bigint | undefined {
    if (this.shown.size === 0 || hostNs < this.base) return undefined;
    return this.shown.get(Number(hostNs - this.base));
  }
  set(hostNs: bigint, value: bigint): bigint {
    if (hostNs < this.base) return value;
    if (this.shown.size >= MAX_SHOWN_STAMPS) this.shown.delete(this.shown.keys().next().value!);
    this.shown.set(Number(hostNs - this.base), value);
    return value;
  }
}

/** Rounds down to a multiple of `resolution` (towards minus infinity: a stamp before 1970 is negative). */
const floorTo = (ns: bigint, resolution: bigint): bigint => {
  // BigInt % keeps the dividend's sign; only a negative remainder needs the extra step (each BigInt operation allocates).
  const rem = ns % resolution;
  return rem >= 0n ? ns - rem : ns - rem - resolution;
};

const hostMonotonic = (): bigint => process.hrtime.bigint();
/**
 * Host monotonic ms as a double, for deciding when a coarse clock steps (never a value a guest
 * sees). The first reads take process.hrtime's pair: performance.now()'s first use loads
 * perf_hooks, about 2 ms of a fresh process that reads a clock a few times. A guest that keeps
 * reading moves to performance.now() (69 against 78 ns a read, and no pair allocated), the
 * same monotonic clock, shifted to the pair's origin once: a step decided on either reads the
 * same moment (docs/RATIONALE.md).
 */
const PAIR_READS = 10_000;
let pairReads = 0;
let perfShiftMs: number | undefined;
function monotonicMs(): number {
  if (perfShiftMs !== undefined) return performance.now() + perfShiftMs;
  const [seconds, nanoseconds] = process.hrtime();
  const ms = seconds * 1000 + nanoseconds / 1e6;
  if (++pairReads === PAIR_READS) perfShiftMs = ms - performance.now();
  return ms;
}
const hostRealtime = (): bigint => BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);

/** Parses `real`, `coarse`, `coarse:5ms`, `frozen`, `virtual`, `virtual:1us`. */
export function parseClockPolicy(text: string): ClockPolicy {
  const [kind, arg] = text.split(':', 2) as [string, string | undefined];
  const duration = (value: string): bigint => {
    // A bare number is refused (as every duration without a unit is): its unit would be a guess.
    if (/^\d+$/.test(value)) throw new Error(`'${value}' has no unit: give one of ns, us, ms, s (e.g. ${value}ms)`);
    const match = /^(\d+)(ns|us|ms|s)$/.exec(value);
    if (!match) throw new Error(`'${value}' is not a duration (a whole number with ns, us, ms or s, e.g. 1ms, 100us)`);
    const n = BigInt(match[1]!);
    const scale = { ns: 1n, us: 1000n, ms: 1_000_000n, s: 1_000_000_000n }[match[2]!]!;
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
  fileTime(hostNs: bigint) { return hostNs; }
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
    const nowMs = monotonicMs();
    if (nowMs < this.nextStepMs[id]!) return this.last[id]!;
    const host = hostNow(id);
    const floored = host - (host % this.resolutionNs);
    if (floored > this.last[id]!) this.last[id] = floored;
    // The next step comes one resolution after this edge, plus a random part of one more.
    const sinceEdgeMs = Number(host - floored) / 1e6;
    const jitterMs = (this.resolutionMs * this.nextJitter()) / 2 ** 32;
    this.nextStepMs[id] = nowMs - sinceEdgeMs + this.resolutionMs + jitterMs;
    return this.last[id]!;
  }

  resolution(id: number) { return knownId(id) ? this.resolutionNs : undefined; }
  wallNow() { return this.now(CLOCK.REALTIME)!; }

  /**
   * Random jitter from the OS CSPRNG, drawn 256 values at a time: one
   * getRandomValues call per step cost more than the rest of the step (file
   * stats step the clock too).
   */
  private jitter: Uint32Array | null = null;
  private jitterUsed = 256;
  private nextJitter(): number {
    // Made at the first step, not with the clocks: most runs never read a clock.
    const jitter = (this.jitter ??= new Uint32Array(256));
    if (this.jitterUsed === jitter.length) {
      fillRandom(new Uint8Array(jitter.buffer));
      this.jitterUsed = 0;
    }
    return jitter[this.jitterUsed++]!;
  }

  /**
   * Floored to the resolution, and held back to the clock's own (jittered)
   * value when the host stamped the file after the clock's last step: a
   * write-then-stat loop then sees an edge no earlier than clock_time_get does.
   */
  fileTime(hostNs: bigint): bigint {
    // One write stamps mtim and ctim alike: the second asks what the first did.
    if (hostNs === this.lastStamp) return this.lastShown;
    this.lastShown = this.shownFor(hostNs);
    this.lastStamp = hostNs;
    return this.lastShown;
  }

  private lastStamp = -1n;
  private lastShown = 0n;

  private shownFor(hostNs: bigint): bigint {
    const held = this.heldBack.get(hostNs);
    if (held !== undefined) return held;
    const floored = floorTo(hostNs, this.resolutionNs);
    if (floored <= this.last[CLOCK.REALTIME]!) return floored;
    const clock = this.now(CLOCK.REALTIME)!;
    // A stamp later than the host's present is a file dated ahead, not a moment of this run.
    if (floored <= clock || datedAhead(hostNs)) return floored;
    // Held back, and remembered: later reads of the same stamp must not move it forward.
    return this.heldBack.set(hostNs, clock);
  }

  private readonly heldBack = new ShownStamps(hostRealtime() - STAMP_SLACK_NS);
}

/** Time stands still at the moment the run started. */
class FrozenClocks implements Clocks {
  readonly policy = { kind: 'frozen' } as const;
  private readonly at = [hostRealtime(), hostMonotonic(), 0n, 0n];
  now(id: number) { return knownId(id) ? this.at[id]! : undefined; }
  resolution(id: number) { return knownId(id) ? 1_000_000n : undefined; }
  wallNow() { return this.at[0]!; }
  /** Whatever the host stamped while the run went on reads as the frozen instant; older stamps to 1 ms. */
  fileTime(hostNs: bigint) {
    return stampedDuringRun(hostNs, this.at[0]!) ? this.at[0]! : floorTo(hostNs, 1_000_000n);
  }
}

/** 2022-01-01T00:00:00Z, the epoch of virtual time (a fixed, plausible date). */
const VIRTUAL_START = 1_640_995_200_000_000_000n;

/** Whether the host made this stamp between the run's start and now (not before, nor dated ahead). */
function stampedDuringRun(hostNs: bigint, runStartNs: bigint): boolean {
  return hostNs >= runStartNs - STAMP_SLACK_NS && !datedAhead(hostNs);
}

class VirtualClocks implements Clocks {
  readonly policy: ClockPolicy;
  private readonly values: bigint[];
  /** Host realtime at the run's start: stamps after it are moments of the run. */
  private readonly hostStart = hostRealtime();
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
  /**
   * A stamp the host made during the run reads as the virtual realtime clock's
   * present value when first read (without advancing it, and the same on
   * every later read), so runs stay deterministic; older stamps (files that
   * were there before) are floored to the step.
   */
  fileTime(hostNs: bigint) {
    // A step of 0 is the clock of a policy that grants none (policy/compile-grant.ts): time stands
    // still, and there is no step to floor to. Flooring to it divided by zero, so every stat of a
    // file from before the run failed (EIO) under a policy without a clock.
    if (!stampedDuringRun(hostNs, this.hostStart)) return this.stepNs === 0n ? hostNs : floorTo(hostNs, this.stepNs);
    return this.shown.get(hostNs) ?? this.shown.set(hostNs, this.values[0]!);
  }

  private readonly shown = new ShownStamps(this.hostStart - STAMP_SLACK_NS);
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
