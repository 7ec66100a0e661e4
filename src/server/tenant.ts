// One tenant at run time: its spec, its module (current and previous digest),
// its lane in the fair scheduler, its rate limit, storage meter, stats, and
// the sandboxes that run it (one per isolation kind and root mode, created
// when first needed and closed when idle or superseded, never while a request
// of theirs is running).

import { mkdirSync } from 'node:fs';
import { parsePolicy } from '../policy/load.js';
import type { Policy } from '../policy/policy.js';
import type { RunInputs } from '../policy/compile-grant.js';
import { createSandbox, type Sandbox, type SandboxResult, type SharedPool } from '../sandbox/sandbox.js';
import type { TenantSpec } from './config.js';
import type { ResolvedModule } from './module-source.js';
import { failedAtMemoryLimit, MEMORY_LIMIT_HIT } from './outcome.js';
import { createLane, type Lane } from './scheduler.js';
import { StorageMeter } from './storage.js';
import { defaultTenantModules, noModuleCounts, type ModuleCounts, type TenantModules } from './tenant-modules.js';
import { TokenBucket } from './token-bucket.js';

export type Isolation = 'thread' | 'process';

/** Consecutive deadline or fuel endings after which a tenant runs one request at a time, at most one a second. */
const PENALTY_AFTER = 2;
/**
 * What a run ending at its deadline or fuel weighs against a run that ends otherwise, in isolation's count:
 * a normal run takes back a third of one. A tenant is moved once its limit endings outweigh its normal
 * runs so, which a sustained share above one run in four does. Counted one for one, strict alternation
 * (one spin to the deadline, one quick exit) held the count at 0-1 and kept half of a tenant's runs
 * burning shared slots to their deadline for ever.
 */
const LIMIT_ENDING_WEIGHT = 3;
/** Runs a second (and burst) allowed to a tenant in the penalty state. */
const PENALTY_RATE = 1;

interface SandboxHandle {
  key: string;
  isolation: Isolation;
  shrinkOnly: boolean;
  sandbox: Promise<Sandbox>;
  /** The sandbox once started: a request then takes it without a promise turn. */
  started: Sandbox | null;
  inflight: number;
  lastUsed: number;
  retired: boolean;
}

export interface TenantStats {
  requests: number;
  byStatus: Record<string, number>;
  traps: Record<string, number>;
  limitHits: Record<string, number>;
  denied: number;
  fuelUsed: number;
  rejected: Record<string, number>;
  /** Modules prepared and compiled afresh for this tenant (a deploy, or a request that found nothing cached), never more than once per digest and config while cached. */
  compiles: number;
  /** Lookups answered by the cache: compiled from a verified disk entry (no admission walk), or found compiled in memory. */
  cacheHits: { disk: number; memory: number };
  replacements: number;
}

/** Keeps the number of live sandboxes bounded across tenants. */
export interface SandboxBudget {
  opened(tenant: Tenant): void;
  touch(tenant: Tenant): void;
}

export class Tenant {
  readonly lane: Lane;
  readonly bucket: TokenBucket;
  /** The rate a tenant gets while its runs keep ending at a limit: each such run costs a slot for its whole deadline and an isolate. */
  private readonly penaltyBucket: TokenBucket;
  readonly storage: StorageMeter;
  isolation: Isolation;
  autoIsolated = false;
  /** Digest of the module the config names (a deploy records it; a different one in the config wins later). */
  configDigest = '';
  /** Requests past the queue check whose bodies are still arriving (they count against concurrency + queue). */
  readingBodies = 0;
  /** Consecutive runs ended by the deadline or fuel (the penalty's count). */
  strikes = 0;
  /**
   * Isolation's count: LIMIT_ENDING_WEIGHT for each run ended by the deadline or fuel, one taken back for each
   * run that ended otherwise, never below 0; the tenant is moved at LIMIT_ENDING_WEIGHT x isolate-after.
   */
  netStrikes = 0;
  readonly stats: TenantStats = { requests: 0, byStatus: {}, traps: {}, limitHits: {}, denied: 0, fuelUsed: 0, rejected: {}, compiles: 0, cacheHits: { disk: 0, memory: 0 }, replacements: 0 };
  private readonly sandboxes = new Map<string, SandboxHandle>();
  private readonly policies = new Map<string, Policy>();
  private retiring: SandboxHandle[] = [];
  private lastHandle: SandboxHandle | null = null;

  constructor(
    readonly spec: TenantSpec,
    public current: ResolvedModule,
    public previous: string | null,
    private readonly budget: SandboxBudget,
    /** The server's worker pool: thread-isolated sandboxes run in it and start no isolates of their own. */
    private readonly pool?: SharedPool,
    /** The server's prepared modules (memory, then disk): admission and requests share its key. */
    private readonly modules: TenantModules = defaultTenantModules(),
  ) {
    this.lane = createLane(spec.limits.concurrency, spec.limits.queue);
    // A monotonic clock: the wall clock can step (NTP), the rate must not.
    this.bucket = new TokenBucket(spec.limits.rate, spec.limits.burst, performance.now());
    this.penaltyBucket = new TokenBucket(PENALTY_RATE, PENALTY_RATE, performance.now());
    this.storage = new StorageMeter(spec.root, spec.limits.storageBytes);
    // The server never runs a guest on its own event loop: isolation = "none" serves as a thread.
    this.isolation = spec.policy.isolation === 'process' ? 'process' : 'thread';
    mkdirSync(spec.root, { recursive: true, mode: 0o700 });
  }

  get id(): string {
    return this.spec.id;
  }

  /**
   * The policy for an isolation kind and root mode: the tenant's own, varied
   * only in those two. Over its storage quota a tenant's root is shrink-only:
   * still writable, so the tenant can remove and truncate its way back under,
   * but with a write quota of 0 bytes and 0 new files, so nothing grows it.
   */
  policyFor(isolation: Isolation, shrinkOnly: boolean): Policy {
    const key = `${isolation}:${shrinkOnly ? 'shrink' : 'rw'}`;
    let policy = this.policies.get(key);
    if (policy) return policy;
    const input = this.spec.policyInput as Record<string, unknown>;
    const limits = { ...(input.limits as Record<string, unknown>) };
    // One run writes at most the whole quota.
    if (this.spec.policy.limits.writeBytes > this.spec.limits.storageBytes) limits.write = this.spec.limits.storageBytes;
    // Over quota: removing and truncating cost nothing; every growth (a byte written past what a file holds, a new file or directory, a symlink) is EDQUOT.
    if (shrinkOnly) { limits.write = 0; limits.files = 0; }
    policy = parsePolicy({
      ...input,
      limits,
      isolation,
      mount: [{ host: this.spec.root, guest: '/', mode: 'rw' }],
    });
    this.policies.set(key, policy);
    return policy;
  }

  /** Takes a token from the tenant's rate limit: 0 when granted, else the seconds to wait. */
  takeToken(nowMs: number): number {
    const wait = this.bucket.take(nowMs);
    if (wait > 0 || this.strikes < PENALTY_AFTER) return wait;
    return this.penaltyBucket.take(nowMs);
  }

  /**
   * Would this tenant's policy admit the module? Rejects with AdmissionError
   * if not. Nothing runs. The prepared and compiled module is kept in the
   * server's cache under the key this tenant's sandboxes look up, so the
   * first request after a deploy prepares nothing; a large module is
   * prepared off the event loop.
   */
  async admit(bytes: Uint8Array): Promise<void> {
    const counts = noModuleCounts();
    try {
      await this.modules.admit(bytes, this.policyFor(this.isolation, false), counts);
    } finally {
      this.count(counts);
    }
  }

  private count(counts: ModuleCounts): void {
    this.stats.compiles += counts.compiles;
    this.stats.cacheHits.disk += counts.diskHits;
    this.stats.cacheHits.memory += counts.memoryHits;
  }

  /** Runs the current module (as it is at this moment: a deploy meanwhile does not change it). */
  async run(inputs: RunInputs): Promise<{ module: ResolvedModule; result: SandboxResult }> {
    const module = this.current;
    const shrinkOnly = this.storage.full();
    const handle = this.handle(this.isolation, shrinkOnly);
    handle.inflight++;
    try {
      const sandbox = handle.started ?? await handle.sandbox;
      // Looked up here, with the key the sandbox uses, so what the lookup did is this tenant's to count; the sandbox then finds it in memory.
      const counts = noModuleCounts();
      const lookup = this.modules.lookup(module.bytes, sandbox.policy, counts);
      // Found in memory (nearly every request): no promise turn here.
      if (lookup.found) this.count(counts);
      else {
        try {
          await lookup.loading;
        } finally {
          this.count(counts);
        }
      }
      const result = await sandbox.run(module.bytes, inputs);
      this.storage.wrote(result.usage.bytesWritten, result.usage.filesCreated);
      if (shrinkOnly) this.storage.mayHaveShrunk();
      // The record says so when the run failed at its memory limit (answered 503, counted as a limit hit).
      if (failedAtMemoryLimit(result, this.spec.policy.limits.memory) && !result.limitsHit.includes(MEMORY_LIMIT_HIT)) result.limitsHit.push(MEMORY_LIMIT_HIT);
      return { module, result };
    } finally {
      handle.inflight--;
      handle.lastUsed = Date.now();
      this.budget.touch(this);
      if (handle.retired && handle.inflight === 0) this.closeHandle(handle);
    }
  }

  /** Counts a run ending by deadline or fuel; true when this moved the tenant to process isolation. */
  strike(limitEnding: boolean, isolateAfter: number): boolean {
    if (!limitEnding) {
      this.strikes = 0;
      // One normal run takes back a third of a limit ending, not all of the count: counted only in a row, a
      // tenant that put a quick run of its own after every isolate-after - 1 limit endings stayed on the shared
      // threads for ever, and counted one for one, so did a tenant alternating one spin and one quick run.
      if (this.netStrikes > 0) this.netStrikes--;
      this.lane.concurrency = this.spec.limits.concurrency;
      return false;
    }
    this.strikes++;
    this.netStrikes += LIMIT_ENDING_WEIGHT;
    // A tenant whose runs keep ending at a limit holds one shared slot at most
    // until a run ends normally: each such run costs a whole slot for its full
    // deadline, plus an isolate replacement.
    if (this.strikes >= PENALTY_AFTER) this.lane.concurrency = 1;
    if (isolateAfter > 0 && this.netStrikes >= LIMIT_ENDING_WEIGHT * isolateAfter && this.isolation === 'thread') {
      this.isolation = 'process';
      this.autoIsolated = true;
      this.retireAll();
      return true;
    }
    return false;
  }

  /** Switches the served module; requests already running finish on the old one. */
  switchTo(module: ResolvedModule, previous: string | null): void {
    this.current = module;
    this.previous = previous;
  }

  get liveSandboxes(): number {
    return this.sandboxes.size;
  }

  /** Whether a live sandbox of this tenant holds isolates of its own (process isolation, or no shared pool). */
  get ownsIsolates(): boolean {
    for (const key of this.sandboxes.keys()) if (!this.pool || !key.startsWith('thread:')) return true;
    return false;
  }

  get idleSince(): number {
    let last = 0;
    for (const h of this.sandboxes.values()) {
      if (h.inflight > 0) return Number.POSITIVE_INFINITY;
      last = Math.max(last, h.lastUsed);
    }
    return last;
  }

  /** Closes sandboxes now or, when requests are running in them, as soon as they finish. */
  retireAll(): void {
    for (const handle of this.sandboxes.values()) {
      handle.retired = true;
      if (handle.inflight === 0) this.closeHandle(handle);
      else this.retiring.push(handle);
    }
    this.sandboxes.clear();
  }

  async close(): Promise<void> {
    this.storage.close();
    const all = [...this.sandboxes.values(), ...this.retiring];
    this.sandboxes.clear();
    this.retiring = [];
    await Promise.all(all.map(async (h) => (await h.sandbox.catch(() => null))?.close()));
  }

  private handle(isolation: Isolation, shrinkOnly: boolean): SandboxHandle {
    // The handle of the last request, when it is still live and of the same kind (most requests): no key to build.
    const last = this.lastHandle;
    if (last && !last.retired && last.isolation === isolation && last.shrinkOnly === shrinkOnly && this.sandboxes.get(last.key) === last) return last;
    const key = `${isolation}:${shrinkOnly ? 'shrink' : 'rw'}`;
    let handle = this.sandboxes.get(key);
    if (handle) return (this.lastHandle = handle);
    handle = {
      key, isolation, shrinkOnly, inflight: 0, lastUsed: Date.now(), retired: false, started: null,
      sandbox: createSandbox(this.policyFor(isolation, shrinkOnly), {
        cache: this.modules.memory,
        ...(this.modules.diskOptions ? { cacheDir: this.modules.diskOptions } : {}),
        ...(this.pool ? { pool: this.pool } : {}),
      }),
    };
    // A sandbox that could not start is forgotten, so the next request tries again.
    handle.sandbox.then((sandbox) => { handle!.started = sandbox; }, () => { if (this.sandboxes.get(key) === handle) this.sandboxes.delete(key); });
    this.sandboxes.set(key, handle);
    this.budget.opened(this);
    return (this.lastHandle = handle);
  }

  private closeHandle(handle: SandboxHandle): void {
    this.retiring = this.retiring.filter((h) => h !== handle);
    void handle.sandbox.then((s) => s.close(), () => {});
  }
}
