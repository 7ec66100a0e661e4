// `warden serve` as a library call: the config (a file, a table, or the
// bundled demo), the registry and module source over the data dir, the admin
// token, the log, both listeners. The CLI is this plus flags, stdout lines and
// signals; an embedder gets the same server from `startServer`.

import { isAbsolute, resolve } from 'node:path';
import { adminHandler } from './admin.js';
import { loadAdminToken } from './admin-token.js';
import { parseListen, type ListenAddress } from './address.js';
import { ConfigError, loadConfigFile, parseConfig, type ServeConfig } from './config.js';
import { demoConfig } from './demo.js';
import { ServeLog } from './log.js';
import { batchLines } from './log-batch.js';
import { LocalModuleSource } from './module-source.js';
import { FileTenantRegistry } from './registry.js';
import type { ReloadResult } from './reload-settings.js';
import { WardenServer } from './server.js';
import { TenantModules } from './tenant-modules.js';

/** Largest module the server keeps or accepts, in bytes. */
const MAX_MODULE_BYTES = 256 * 1024 * 1024;
const DEFAULT_LISTEN: ListenAddress = { kind: 'tcp', host: '127.0.0.1', port: 8080 };
const DEFAULT_ADMIN: ListenAddress = { kind: 'tcp', host: '127.0.0.1', port: 0 };

export interface StartServerOptions {
  /**
   * The config: a TOML file's path (re-read on reload), a table of the same
   * shape (docs/serve.md; relative paths from `configDir`), or a function
   * returning one (called again on reload). Omitted: the bundled demo.
   */
  config?: string | Record<string, unknown> | (() => Record<string, unknown>);
  /** Where a table config's relative paths (modules, keys) start. Default: the process's cwd. */
  configDir?: string;
  /** Tenants' roots, stored modules, deployments, the audit log; wins over the config's `data-dir`. */
  dataDir?: string;
  /** Used when neither `dataDir` nor the config names one. Without it, one of them must. */
  defaultDataDir?: () => string;
  /** `HOST:PORT` for tenants' requests; wins over the config's. Default 127.0.0.1:8080 (port 0 picks one). */
  listen?: string | ListenAddress;
  /** `HOST:PORT` or `unix:PATH` for the admin API; wins over the config's. Default 127.0.0.1 on a free port. */
  admin?: string | ListenAddress;
  /**
   * Where `admin.token-env` and `$WARDEN_ADMIN_TOKEN` are read. Default: process.env.
   * Without either (or `admin.token-file`) a token is generated and kept mode 0600 in the data dir.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Receives each JSON log line (requests, events, audit, tenant stderr), one call per line, as it is logged.
   * Default: process.stderr, written once per event-loop turn (every pending line is written by stop()).
   */
  log?: (line: string) => void;
}

export interface StartedServer {
  /** `http://HOST:PORT` of the tenants' listener (follows a reload that moves it). */
  readonly url: string;
  /** `http://HOST:PORT` or `unix:PATH` of the admin listener. */
  readonly adminUrl: string;
  /** Where the admin token came from; the token itself is never returned. */
  readonly adminToken: { source: string; file: string | null };
  /** The running server (tenants, metrics, deploy, rollback). */
  readonly server: WardenServer;
  /** Re-reads the config, as SIGHUP does. Rejects with ConfigError (the running config stays) when it is not valid. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting, lets requests in flight finish for at most `graceMs` (default: the config's `server.grace`), closes everything. */
  stop(graceMs?: number): Promise<{ drained: boolean }>;
}

function address(value: string | ListenAddress | undefined, what: string, allowUnix: boolean): ListenAddress | undefined {
  if (value === undefined || typeof value !== 'string') return value;
  const parsed = parseListen(value, allowUnix);
  if (typeof parsed === 'string') throw new ConfigError([parsed], what);
  return parsed;
}

/**
 * Starts `warden serve`: validates the config (ConfigError, every problem
 * with its key path), reads the admin token (TokenError), opens both
 * listeners (a listen failure rejects with Node's error, its `code` set) and
 * resolves once both accept connections.
 */
export async function startServer(options: StartServerOptions = {}): Promise<StartedServer> {
  const listenOverride = address(options.listen, 'listen', false);
  const adminOverride = address(options.admin, 'admin', true);
  const dataOverride = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  const defaultDataDir = options.defaultDataDir ?? (() => { throw new ConfigError(['no data dir: pass dataDir or set data-dir in the config'], 'data-dir'); });
  const configDir = options.configDir ?? process.cwd();
  const { config: given } = options;
  let running: string | undefined;
  const load = (): ServeConfig & { dataDir: string } => {
    const loadOptions = { dataDir: dataOverride, defaultDataDir, keepDataDir: running };
    if (given === undefined) {
      const demo = demoConfig(running ?? dataOverride ?? defaultDataDir());
      return demo;
    }
    if (typeof given === 'string') return loadConfigFile(isAbsolute(given) ? given : resolve(configDir, given), loadOptions);
    const table = typeof given === 'function' ? given() : given;
    return parseConfig(table, 'the config', configDir, loadOptions);
  };
  const config = load();
  running = config.dataDir;
  const stateDir = `${config.dataDir}/serve`;
  const registry = new FileTenantRegistry(load, stateDir);
  const token = loadAdminToken({ tokenFile: config.admin.tokenFile, tokenEnv: config.admin.tokenEnv, env: options.env ?? process.env, stateDir });
  const stderrLines = options.log ? null : batchLines((text) => { process.stderr.write(text); });
  const sink = options.log ?? stderrLines!;
  const log = new ServeLog(sink, `${stateDir}/audit.log`);
  const addresses = (c: ServeConfig) => ({ listen: listenOverride ?? c.listen ?? DEFAULT_LISTEN, admin: adminOverride ?? c.admin.listen ?? DEFAULT_ADMIN });
  // The same bounded, verified on-disk cache `warden run` uses: a restarted server compiles its tenants' modules from it without admitting them again.
  // Fixed at start: a reload that names another data dir keeps this one (as it keeps the running data dir).
  const modules = new TenantModules({
    disk: { dir: `${config.dataDir}/cache/prepared`, log: (line) => log.event({ kind: 'cache', message: line }) },
  });
  const server = new WardenServer({
    modules, registry, source: new LocalModuleSource(config.dataDir, MAX_MODULE_BYTES), log, ...addresses(config), addresses, adminHandler: adminHandler(token.token),
  });
  await server.start();
  log.event({ kind: 'started', url: server.url, admin: server.adminUrl, tenants: server.listTenants().map((t) => ({ id: t.id, digest: t.current.digest })) });
  return {
    get url() { return server.url; },
    get adminUrl() { return server.adminUrl; },
    adminToken: { source: token.source, file: token.file },
    server,
    reload: () => server.reload(),
    stop: async (graceMs) => {
      const result = await server.stop(graceMs ?? server.config.settings.graceMs);
      stderrLines?.flush();
      return result;
    },
  };
}
