// The serve config (TOML): listen addresses, data dir, admin token source,
// and the tenants. Validated once, here, with every problem reported under its
// key path; what comes out is frozen and complete (defaults applied), and each
// tenant's policy is a real Policy built with the serve defaults underneath.

import { notFoundHint } from '../text/not-utf8.js';
import { readBoundedText, TooLargeError } from '../policy/read-text.js';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { keySegment, parsePolicy, PolicyError } from '../policy/load.js';
import type { Policy } from '../policy/policy.js';
import { toBytes, toMilliseconds } from '../policy/units.js';
import { isStoreDigest } from '../store/reference.js';
import { parseListen, type ListenAddress } from './address.js';
import { parseRoute, type Route } from './routes.js';
import { ACTIVE, matcher } from '../text/control-characters.js';

const ACTIVE_CHARACTERS = matcher(ACTIVE);

/** Line breaks and other control characters escaped: a problem quotes keys and values from the file, and an error is one line. */
function oneLine(text: string): string {
  return text.replace(ACTIVE_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  /** Each problem, `KEY.PATH: what is wrong`, on one line. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[], readonly source: string) {
    const lines = problems.map(oneLine);
    super(`${oneLine(source)}: ${lines.join('; ')}`);
    this.problems = lines;
  }
}

/** How a tenant's module is named: a file, a digest in the local store, or an OCI reference pinned by digest. */
export type ModuleRef = { kind: 'file'; path: string } | { kind: 'store'; digest: string } | { kind: 'oci'; reference: string };

export interface TenantLimits {
  /** Requests of this tenant running at once. */
  concurrency: number;
  /** Requests waiting beyond those; one more is answered 429. */
  queue: number;
  /** Requests per second admitted on average (token bucket); 0 for no limit. */
  rate: number;
  /** Requests admitted at once from a full bucket. */
  burst: number;
  /** Largest request body (413 beyond). */
  bodyBytes: number;
  /** Bytes the tenant's root may hold. */
  storageBytes: number;
}

export interface TenantSpec {
  id: string;
  routes: readonly Route[];
  module: ModuleRef;
  /** The module reference as written (a change of it overrides an earlier deploy). */
  moduleText: string;
  /** Request headers passed to the guest beyond the default allowlist (lowercase). */
  passHeaders: readonly string[];
  limits: TenantLimits;
  /** The host directory mounted as the guest's `/`. */
  root: string;
  /** The tenant's policy as written with the serve defaults under it (parsed again for isolation changes). */
  policyInput: Readonly<Record<string, unknown>>;
  policy: Policy;
}

export interface ServeSettings {
  /** Runs at once across all tenants (the shared pool's slots). */
  workers: number;
  /** Bounded wait for in-flight requests on SIGTERM. */
  graceMs: number;
  /** Largest request head (431 beyond). */
  maxHeaderBytes: number;
  /** Tenants whose sandboxes own isolates (process isolation) kept alive at once (least recently used closed first); those on the shared worker pool are closed only when idle. */
  liveSandboxes: number;
  /** Deadline or fuel endings, each other run taking one back (never below 0), that move a tenant to process isolation; 0: never. */
  isolateAfter: number;
}

export interface ServeConfig {
  source: string;
  listen: ListenAddress | null;
  dataDir: string | null;
  /** The data dir this config asks for, when LoadOptions.keepDataDir kept the running one instead. */
  requestedDataDir?: string;
  admin: { listen: ListenAddress | null; tokenFile: string | null; tokenEnv: string | null };
  settings: ServeSettings;
  tenants: readonly TenantSpec[];
}

export const DEFAULT_SETTINGS: Readonly<ServeSettings> = Object.freeze({
  workers: 4, graceMs: 10_000, maxHeaderBytes: 16 * 1024, liveSandboxes: 8, isolateAfter: 3,
});

export const DEFAULT_TENANT_LIMITS: Readonly<TenantLimits> = Object.freeze({
  concurrency: 2, queue: 16, rate: 200, burst: 400, bodyBytes: 1024 * 1024, storageBytes: 64 * 1024 * 1024,
});

/** The policy every tenant starts from; the tenant's own `[tenant.policy]` is laid over it. */
export function defaultPolicyInput(root: string): Record<string, unknown> {
  return {
    mount: [{ host: root, guest: '/', mode: 'rw' }],
    clock: 'frozen',
    random: 'os',
    limits: { memory: '64MiB', fuel: 200_000_000, timeout: '2s', output: '4MiB', write: '16MiB', files: 1000, fds: 64 },
  };
}

// The keys each table accepts (docs/serve.schema.json lists the same; a test keeps them equal).
export const TOP_KEYS = ['listen', 'data-dir', 'admin', 'server', 'tenant'];
export const ADMIN_KEYS = ['listen', 'token-file', 'token-env'];
export const SERVER_KEYS = ['workers', 'grace', 'max-header', 'live-sandboxes', 'isolate-after'];
export const TENANT_KEYS = ['id', 'routes', 'module', 'pass-headers', 'limits', 'policy'];
export const TENANT_LIMIT_KEYS = ['concurrency', 'queue', 'rate', 'burst', 'body', 'storage'];
/** Policy keys a tenant may set; the root mount, stdio and argv belong to the server. */
export const TENANT_POLICY_KEYS = ['env', 'clock', 'random', 'imports', 'limits', 'features', 'isolation', 'trust', 'harden'];
const POLICY_LIMIT_KEYS_OWNED_BY_SERVER = ['concurrency', 'queue'];
const ID = /^[a-z0-9](?:[a-z0-9_-]{0,62})$/;
const HEADER_NAME = /^[a-z0-9-]{1,64}$/;

type Raw = Record<string, unknown>;
const isTable = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void { this.list.push(`${path}: ${message}`); }
  keys(table: Raw, path: string, allowed: readonly string[]): void {
    for (const key of Object.keys(table)) if (!allowed.includes(key)) this.add(path ? `${path}.${keySegment(key)}` : keySegment(key), `unknown key (expected one of ${allowed.join(', ')})`);
  }
  string(value: unknown, path: string): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string') { this.add(path, 'expected a string'); return undefined; }
    return value;
  }
  count(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (value === undefined) return undefined;
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) { this.add(path, `expected a whole number from ${min} to ${max}`); return undefined; }
    return n;
  }
  size(value: unknown, path: string): number | undefined {
    if (value === undefined) return undefined;
    const n = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : typeof value === 'string' ? toBytes(value) : null;
    if (n === null) { this.add(path, 'expected a size (e.g. 1MiB, 4096)'); return undefined; }
    return n;
  }
  duration(value: unknown, path: string): number | undefined {
    if (value === undefined) return undefined;
    // A bare number in a config file is ms, as in policy files; strings need their unit.
    const n = typeof value === 'number' && value >= 0 ? value : typeof value === 'string' && /[a-z]$/i.test(value.trim()) ? toMilliseconds(value) : null;
    if (n === null) { this.add(path, 'expected a duration with a unit (e.g. 500ms, 10s)'); return undefined; }
    return n;
  }
}

export function parseModuleRef(text: string, baseDir: string): ModuleRef | string {
  if (text.length === 0 || text.length > 4096) return 'expected a module file, a store digest or an OCI reference';
  if (isStoreDigest(text)) return { kind: 'store', digest: text };
  if (/^sha256:/i.test(text)) return `'${text.slice(0, 80)}' is not a store digest (sha256:<64 lowercase hex>)`;
  if (/@sha256:[0-9a-f]{64}$/.test(text)) return { kind: 'oci', reference: text };
  if (/^[a-z0-9.-]+(:\d+)?\/[^@]*:[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(text) && !text.endsWith('.wasm')) {
    return `'${text.slice(0, 80)}' is a registry reference by tag: pin it by digest (REGISTRY/REPO@sha256:…)`;
  }
  return { kind: 'file', path: isAbsolute(text) ? text : resolve(baseDir, text) };
}

export interface LoadOptions {
  /** `--data-dir`, which wins over the file's `data-dir`. */
  dataDir?: string | undefined;
  /** Used when neither the flag nor the file names one. */
  defaultDataDir: () => string;
  /**
   * A running server's data dir, kept whatever the file now says (a reload:
   * tenant roots, stored modules and deployments cannot move under it); the
   * config's own answer is reported as requestedDataDir.
   */
  keepDataDir?: string | undefined;
}

/** Reads and validates a config file. Throws ConfigError (one message, every problem with its key path). */
export function loadConfigFile(path: string, options: LoadOptions): ServeConfig & { dataDir: string } {
  let text: string;
  try {
    text = readBoundedText(path);
  } catch (error) {
    if (error instanceof TooLargeError) throw new ConfigError([error.message], path);
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError([`cannot read (${code ?? 'error'})${notFoundHint(path, code)}`], path);
  }
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    throw new ConfigError([`not valid TOML: ${(error as Error).message.split('\n')[0]}`], path);
  }
  return parseConfig(raw, path, dirname(resolve(path)), options);
}

export function parseConfig(raw: unknown, source: string, baseDir: string, options: LoadOptions): ServeConfig & { dataDir: string } {
  const p = new Problems();
  if (!isTable(raw)) throw new ConfigError(['expected a table'], source);
  p.keys(raw, '', TOP_KEYS);
  let listen: ListenAddress | null = null;
  const listenText = p.string(raw.listen, 'listen');
  if (listenText !== undefined) {
    const parsed = parseListen(listenText, false);
    if (typeof parsed === 'string') p.add('listen', parsed); else listen = parsed;
  }
  const dataText = p.string(raw['data-dir'], 'data-dir');
  const requestedDataDir = options.dataDir ?? (dataText !== undefined ? resolve(baseDir, dataText) : options.defaultDataDir());
  const dataDir = options.keepDataDir ?? requestedDataDir;

  const admin: ServeConfig['admin'] = { listen: null, tokenFile: null, tokenEnv: null };
  if (raw.admin !== undefined) {
    if (!isTable(raw.admin)) p.add('admin', 'expected a table');
    else {
      // `token` is named only to be refused with the reason below.
      p.keys(raw.admin, 'admin', [...ADMIN_KEYS, 'token']);
      // The token itself never lives in the config: configs get copied, committed, printed.
      if (raw.admin.token !== undefined) p.add('admin.token', 'the token does not belong in the config; use token-file or token-env');
      const adminListen = p.string(raw.admin.listen, 'admin.listen');
      if (adminListen !== undefined) {
        const parsed = parseListen(adminListen, true);
        if (typeof parsed === 'string') p.add('admin.listen', parsed); else admin.listen = parsed;
      }
      const file = p.string(raw.admin['token-file'], 'admin.token-file');
      if (file !== undefined) admin.tokenFile = resolve(baseDir, file);
      const env = p.string(raw.admin['token-env'], 'admin.token-env');
      if (env !== undefined) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) p.add('admin.token-env', 'expected an environment variable name');
        else admin.tokenEnv = env;
      }
      if (admin.tokenFile && admin.tokenEnv) p.add('admin', 'token-file and token-env are alternatives; give one');
    }
  }

  const settings: ServeSettings = { ...DEFAULT_SETTINGS };
  if (raw.server !== undefined) {
    if (!isTable(raw.server)) p.add('server', 'expected a table');
    else {
      const s = raw.server;
      p.keys(s, 'server', SERVER_KEYS);
      settings.workers = p.count(s.workers, 'server.workers', 1, 1024) ?? settings.workers;
      settings.graceMs = p.duration(s.grace, 'server.grace') ?? settings.graceMs;
      const header = p.size(s['max-header'], 'server.max-header');
      if (header !== undefined && (header < 1024 || header > 1024 * 1024)) p.add('server.max-header', 'expected 1KiB to 1MiB');
      else if (header !== undefined) settings.maxHeaderBytes = header;
      settings.liveSandboxes = p.count(s['live-sandboxes'], 'server.live-sandboxes', 1, 100_000) ?? settings.liveSandboxes;
      settings.isolateAfter = p.count(s['isolate-after'], 'server.isolate-after', 0, 1_000_000) ?? settings.isolateAfter;
    }
  }

  const tenants: TenantSpec[] = [];
  if (raw.tenant !== undefined && !Array.isArray(raw.tenant)) p.add('tenant', 'expected an array of tables ([[tenant]])');
  const ids = new Set<string>();
  const routeOwners = new Map<string, string>();
  (Array.isArray(raw.tenant) ? raw.tenant : []).forEach((t: unknown, i: number) => {
    const path = `tenant[${i}]`;
    if (!isTable(t)) { p.add(path, 'expected a table'); return; }
    const spec = parseTenant(p, t, path, baseDir, dataDir);
    if (!spec) return;
    if (ids.has(spec.id)) { p.add(`${path}.id`, `'${spec.id}' is configured twice`); return; }
    ids.add(spec.id);
    spec.routes.forEach((route, j) => {
      const key = `${route.host ?? ''}${route.path}${route.wildcard ? '/...' : ''}`;
      const owner = routeOwners.get(key);
      if (owner !== undefined) p.add(`${path}.routes[${j}]`, `'${route.text}' is already tenant '${owner}'s route`);
      else routeOwners.set(key, spec.id);
    });
    tenants.push(spec);
  });
  if (p.list.length) throw new ConfigError(p.list, source);
  return Object.freeze({
    source, listen, dataDir, ...(requestedDataDir !== dataDir ? { requestedDataDir } : {}),
    admin: Object.freeze(admin), settings: Object.freeze(settings), tenants: Object.freeze(tenants),
  });
}

function parseTenant(p: Problems, t: Raw, path: string, baseDir: string, dataDir: string): TenantSpec | null {
  const before = p.list.length;
  p.keys(t, path, TENANT_KEYS);
  const id = p.string(t.id, `${path}.id`);
  if (id === undefined) { if (t.id === undefined) p.add(`${path}.id`, 'required'); }
  else if (!ID.test(id)) p.add(`${path}.id`, `'${id.slice(0, 80)}' is not a tenant id (lowercase letters, digits, - and _, at most 63)`);
  const routes: Route[] = [];
  if (!Array.isArray(t.routes) || t.routes.length === 0) p.add(`${path}.routes`, 'expected a non-empty array of routes');
  else t.routes.forEach((r: unknown, j: number) => {
    if (typeof r !== 'string') { p.add(`${path}.routes[${j}]`, 'expected a string'); return; }
    const route = parseRoute(r);
    if (typeof route === 'string') p.add(`${path}.routes[${j}]`, route); else routes.push(route);
  });
  const moduleText = p.string(t.module, `${path}.module`);
  let module: ModuleRef | undefined;
  if (moduleText === undefined) { if (t.module === undefined) p.add(`${path}.module`, 'required'); }
  else {
    const parsed = parseModuleRef(moduleText, baseDir);
    if (typeof parsed === 'string') p.add(`${path}.module`, parsed); else module = parsed;
  }
  const passHeaders: string[] = [];
  if (t['pass-headers'] !== undefined) {
    if (!Array.isArray(t['pass-headers'])) p.add(`${path}.pass-headers`, 'expected an array of header names');
    else t['pass-headers'].forEach((h: unknown, j: number) => {
      if (typeof h !== 'string' || !HEADER_NAME.test(h.toLowerCase())) p.add(`${path}.pass-headers[${j}]`, 'expected a header name');
      else passHeaders.push(h.toLowerCase());
    });
  }
  const limits: TenantLimits = { ...DEFAULT_TENANT_LIMITS };
  if (t.limits !== undefined) {
    if (!isTable(t.limits)) p.add(`${path}.limits`, 'expected a table');
    else {
      const l = t.limits;
      const lp = `${path}.limits`;
      p.keys(l, lp, TENANT_LIMIT_KEYS);
      limits.concurrency = p.count(l.concurrency, `${lp}.concurrency`, 1, 256) ?? limits.concurrency;
      limits.queue = p.count(l.queue, `${lp}.queue`, 0, 100_000) ?? limits.queue;
      limits.rate = p.count(l.rate, `${lp}.rate`, 0, 10_000_000) ?? limits.rate;
      limits.burst = p.count(l.burst, `${lp}.burst`, 1, 10_000_000) ?? (l.rate !== undefined ? Math.max(1, limits.rate * 2) : limits.burst);
      limits.bodyBytes = p.size(l.body, `${lp}.body`) ?? limits.bodyBytes;
      limits.storageBytes = p.size(l.storage, `${lp}.storage`) ?? limits.storageBytes;
    }
  }
  if (p.list.length > before || id === undefined || module === undefined) return null;
  const root = `${dataDir}/tenant/${id}`;
  const policyInput = mergePolicy(p, defaultPolicyInput(root), t.policy, `${path}.policy`, limits);
  if (!policyInput) return null;
  let policy: Policy;
  try {
    policy = parsePolicy(policyInput, undefined, baseDir);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    for (const problem of error.problems) p.list.push(`${path}.policy.${problem}`);
    return null;
  }
  return Object.freeze({
    id, routes: Object.freeze(routes), module, moduleText: moduleText!, passHeaders: Object.freeze(passHeaders),
    limits: Object.freeze(limits), root, policyInput: Object.freeze(policyInput), policy,
  });
}

/** The tenant's policy laid over the serve defaults; the parts the server owns are refused. */
function mergePolicy(p: Problems, defaults: Record<string, unknown>, raw: unknown, path: string, limits: TenantLimits): Record<string, unknown> | null {
  const merged: Record<string, unknown> = { ...defaults, limits: { ...(defaults.limits as Raw) } };
  if (raw !== undefined) {
    if (!isTable(raw)) { p.add(path, 'expected a table'); return null; }
    const before = p.list.length;
    for (const key of Object.keys(raw)) {
      if (!TENANT_POLICY_KEYS.includes(key)) {
        const why = key === 'mount' ? 'the tenant root is the only mount' : key === 'stdio' || key === 'args' ? 'the server owns stdio and argv' : `unknown key (expected one of ${TENANT_POLICY_KEYS.join(', ')})`;
        p.add(`${path}.${keySegment(key)}`, why);
      }
    }
    const imports = raw.imports;
    // No network: preview1 cannot create sockets, and the calls on inherited
    // ones are not granted to tenants either (nothing would be inherited).
    if (isTable(imports) && Array.isArray(imports.allow)) {
      imports.allow.forEach((name: unknown, j: number) => {
        if (typeof name === 'string' && name.startsWith('sock_')) p.add(`${path}.imports.allow[${j}]`, 'tenants get no network: sock_* calls are not granted');
      });
    }
    if (isTable(raw.limits)) {
      for (const key of POLICY_LIMIT_KEYS_OWNED_BY_SERVER) if (key in raw.limits) p.add(`${path}.limits.${key}`, `set by the tenant's [limits].${key}`);
      Object.assign(merged.limits as Raw, raw.limits);
    } else if (raw.limits !== undefined) p.add(`${path}.limits`, 'expected a table');
    for (const key of TENANT_POLICY_KEYS) if (key !== 'limits' && raw[key] !== undefined) merged[key] = raw[key];
    if (p.list.length > before) return null;
  }
  const ml = merged.limits as Raw;
  // The sandbox runs no more than the scheduler hands it; its own queue is a formality.
  ml.concurrency = limits.concurrency;
  ml.queue = limits.concurrency;
  return merged;
}
