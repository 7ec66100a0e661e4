// What a reload does with the server-wide settings. Tenants, routes, limits,
// `server.workers`, `server.grace`, `server.live-sandboxes` and
// `server.isolate-after` apply at once; `listen` and `admin.listen` are re-bound (the server does that); the
// rest cannot change under a running server, and a reload says so, per key,
// with "restart to apply".

import { formatListen, type ListenAddress } from './address.js';
import type { ServeConfig } from './config.js';

/** The settings a running server was built with, which a reload cannot change. */
export interface FixedSettings {
  /** The shared pool's worker threads and the scheduler's slots (a reload resizes both: WardenServer.resizeWorkers). */
  workers: number;
  /** The HTTP parser's head limit, fixed when a listener's server is created. */
  maxHeaderBytes: number;
  /** Tenant roots, stored modules and deployments live here. */
  dataDir: string | null;
  /** Where the admin token came from: it was read once, at start. */
  tokenFile: string | null;
  tokenEnv: string | null;
}

export function fixedSettings(config: ServeConfig): FixedSettings {
  return {
    workers: config.settings.workers, maxHeaderBytes: config.settings.maxHeaderBytes, dataDir: config.requestedDataDir ?? config.dataDir,
    tokenFile: config.admin.tokenFile, tokenEnv: config.admin.tokenEnv,
  };
}

export interface PendingChange {
  key: string;
  from: string;
  to: string;
}

/** The keys whose new value differs from the running one and waits for a restart. */
export function changesNeedingRestart(running: FixedSettings, next: FixedSettings, ignore: ReadonlySet<string> = new Set()): PendingChange[] {
  const show = (v: unknown) => (v === null ? 'unset' : String(v));
  const pairs: Array<[string, unknown, unknown]> = [
    ['server.max-header', running.maxHeaderBytes, next.maxHeaderBytes],
    ['data-dir', running.dataDir, next.dataDir],
    ['admin.token-file', running.tokenFile, next.tokenFile],
    ['admin.token-env', running.tokenEnv, next.tokenEnv],
  ];
  return pairs.filter(([key, a, b]) => a !== b && !ignore.has(key)).map(([key, a, b]) => ({ key, from: show(a), to: show(b) }));
}

/** One log line's message for a change a reload did not apply. */
export const restartMessage = (change: PendingChange): string => `${change.key} changed from ${change.from} to ${change.to}: restart to apply`;

export interface ReloadResult {
  tenants: number;
  /** Listeners moved to a new address: `listen`, `admin.listen`. */
  rebound: Array<{ key: string; url: string }>;
  /** Changed keys the running server keeps its old value for until a restart. */
  restartToApply: PendingChange[];
  /** Listeners that could not move (the old address keeps serving; the next reload tries again). */
  failed: Array<{ key: string; error: string }>;
}

export const describeAddress = (address: ListenAddress): string => formatListen(address);
