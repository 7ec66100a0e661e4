// Everything one run's WASI functions share: memory, descriptors, grants,
// counters. Built fresh for each run, dropped with it.

import { Errno } from './errno.js';
import type { FdTable } from './fd-table.js';
import type { Clocks } from './clocks.js';
import type { Quota } from './fs/types.js';
import type { GuestMemory } from './guest-memory.js';
import { NO_STRINGS, type GuestStrings } from './guest-strings.js';
import type { RandomSource } from './random.js';
import { DeadlineReached } from './stdio.js';

export interface DeniedAttempt {
  call: string;
  errno: string;
  detail?: string;
  /** The descriptor the call named (fd_*, path_*, sock_*). */
  fd?: number;
  /** The guest path it named, at most 256 bytes of it (denial.ts). */
  path?: string;
  /** path_rename and path_link: the second descriptor and path. */
  newFd?: number;
  newPath?: string;
  /** path_symlink: what the link would hold. */
  oldPath?: string;
  /** Set when a path was cut to its first 256 bytes. */
  truncated?: true;
}

/** At most this many denied attempts are kept (the count goes on). */
const MAX_DENIED_RECORDS = 100;

export const errnoNames: Record<number, string> = Object.fromEntries(
  Object.entries(Errno).map(([name, value]) => [value, name]),
);

/** Errnos that mean "the grant did not allow this", recorded as denied capability attempts. */
const denialErrnos = new Set<number>([Errno.NOTCAPABLE, Errno.PERM, Errno.ROFS, Errno.DQUOT, Errno.MFILE, Errno.NOTSOCK, Errno.ACCES]);

export interface RunParameters {
  args: GuestStrings;
  env: GuestStrings;
  clocks: Clocks;
  random: RandomSource;
  quota: Quota;
  /** Absolute host-monotonic ms at which blocking calls give up; null for none. */
  deadlineAt: number | null;
  maxRandomBytesPerCall: number;
  maxFds: number;
}

/**
 * What the WASI functions of one host read at call time. A host (its import
 * object and this context) is built once per isolate and serves run after
 * run: `begin` replaces every piece of per-run state, so nothing of one run
 * is visible to the next.
 */
export class WasiContext {
  denied: DeniedAttempt[] = [];
  deniedCount = 0;
  limitsHit = new Set<string>();
  /** Pushes out gathered stdout/stderr before the guest blocks (set by the run). */
  flushOutput: () => void = () => {};
  /**
   * Called after every host call: an isolate's channel copies the live
   * counters (bytes written, files created, output, denials, memory) where
   * the host can read them if the run is killed. A no-op otherwise.
   */
  publish: () => void = () => {};
  /** Publishes the counters when the guest's memory grew since they were last published (the checkpoint calls it). */
  publishIfGrown: () => void = () => {};
  args: GuestStrings = NO_STRINGS;
  env: GuestStrings = NO_STRINGS;
  clocks!: Clocks;
  random!: RandomSource;
  quota!: Quota;
  deadlineAt: number | null = null;
  /** The deadline on performance.now()'s scale: one double comparison for the checkpoint's hot path. */
  deadlineAtPerf = Infinity;
  maxRandomBytesPerCall = 0;

  constructor(
    readonly memory: GuestMemory,
    readonly fds: FdTable,
    private readonly monotonicMs: () => number,
  ) {}

  begin(run: RunParameters): void {
    this.denied = [];
    this.deniedCount = 0;
    this.limitsHit = new Set();
    this.flushOutput = () => {};
    this.publish = () => {};
    this.publishIfGrown = () => {};
    this.args = run.args;
    this.env = run.env;
    this.clocks = run.clocks;
    this.random = run.random;
    this.quota = run.quota;
    this.deadlineAt = run.deadlineAt;
    this.deadlineAtPerf = run.deadlineAt === null ? Infinity : performance.now() + (run.deadlineAt - this.monotonicMs());
    this.maxRandomBytesPerCall = run.maxRandomBytesPerCall;
    this.memory.detach();
    this.fds.reset(run.maxFds);
  }

  /** Ends the run if its deadline has passed (called by blocking host calls). */
  checkDeadline(): void {
    if (this.deadlineAt !== null && this.monotonicMs() >= this.deadlineAt) throw new DeadlineReached('the run reached its deadline');
  }

  msUntilDeadline(): number {
    return this.deadlineAt === null ? Infinity : this.deadlineAt - this.monotonicMs();
  }

  /** `locate` adds where the call pointed; it runs only for a record that is kept. */
  noteErrno(call: string, errno: number, detail?: string, locate?: (entry: DeniedAttempt) => void): void {
    if (errno === Errno.DQUOT) for (const hit of this.quota.hits) this.limitsHit.add(hit);
    if (errno === Errno.MFILE) this.limitsHit.add('max-fds');
    if (!denialErrnos.has(errno)) return;
    this.deniedCount++;
    if (this.denied.length < MAX_DENIED_RECORDS) {
      const entry: DeniedAttempt = { call, errno: errnoNames[errno] ?? String(errno) };
      if (detail !== undefined) entry.detail = detail;
      locate?.(entry);
      this.denied.push(entry);
    }
  }
}
