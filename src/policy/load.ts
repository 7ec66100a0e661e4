// Loading and validating policies: from TOML, JSON or a plain object, into a
// frozen Policy. Every problem is reported with the key path that has it, all
// at once, so one edit fixes a file.

import { guestPathProblem } from './guest-path.js';
import { MAX_KEY_FILE_BYTES, parsePublicKey, type PublicKey } from '../signing/keys.js';
import { readBoundedBytes, TooLargeError } from './read-text.js';
import { parseClockPolicy } from '../wasi/clocks.js';
import { wasiPreview1Functions } from '../binary/wasi-abi.js';
import { DEFAULT_PLUGIN, type PluginPolicy, DEFAULT_FEATURES, DEFAULT_LIMITS, FEATURES, type FeatureName, type LimitsPolicy, type MountPolicy, type OutputPolicy, type Policy, type StdinPolicy } from './policy.js';
import { LIMIT_KEYS } from './limit-keys.js';
import { originOf } from '../plugin/http-allow.js';
import { HARDEN_PASSES } from '../transform/harden-passes.js';
import { CLOCK_PATTERN } from './schema.js';
import { DURATION_EXAMPLES, toBytes, toMilliseconds } from './units.js';

export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(readonly problems: readonly string[], source?: string) {
    super(`${source ? source + ': ' : ''}${problems.join('; ')}`);
  }
}

type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A key as a problem's key path shows it: bare when TOML would write it bare, else quoted, so `a.b`, an empty key or one with `: ` stays one segment. */
export function keySegment(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

class Reader {
  readonly problems: string[] = [];
  fail(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }
  keys(object: Raw, path: string, allowed: readonly string[]): void {
    for (const key of Object.keys(object)) if (!allowed.includes(key)) this.fail(path ? `${path}.${keySegment(key)}` : keySegment(key), `unknown key (expected one of ${allowed.join(', ')})`);
  }
  string(value: unknown, path: string): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string') { this.fail(path, `expected a string, got ${describe(value)}`); return undefined; }
    return value;
  }
  size(value: unknown, path: string): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
    if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
    const bytes = typeof value === 'string' ? toBytes(value) : null;
    // describe(), not String(): a TOML inline table has no prototype, and String() of it throws.
    if (bytes === null) this.fail(path, `${typeof value === 'string' ? JSON.stringify(value) : describe(value)} is not a size (e.g. 4096, 64MiB, 1GiB)`);
    return bytes ?? undefined;
  }
  count(value: unknown, path: string, min = 0): number | undefined {
    if (value === undefined) return undefined;
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) { this.fail(path, `expected a whole number of at least ${min}, got ${describe(value)}`); return undefined; }
    return n;
  }
  duration(value: unknown, path: string): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'number' && value >= 0 && value <= 2 ** 31) return value;
    // A number is milliseconds; text must carry its unit ("2" is refused, as on the command line).
    const ms = typeof value === 'string' ? toMilliseconds(value) : null;
    if (ms === null) {
      const bare = typeof value === 'string' && /^\s*\d+(?:\.\d+)?\s*$/.test(value);
      this.fail(path, `${typeof value === 'string' ? JSON.stringify(value) : describe(value)} ${bare ? 'needs a unit' : 'is not a duration'} (${DURATION_EXAMPLES}, or a number of milliseconds)`);
    }
    return ms ?? undefined;
  }
  strings(value: unknown, path: string): string[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) { this.fail(path, 'expected an array of strings'); return undefined; }
    return value as string[];
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'a table' : `${typeof value} ${JSON.stringify(String(value)).slice(0, 40)}`;
}

const CLOCK_SYNTAX = new RegExp(CLOCK_PATTERN);

export const TOP_KEYS = ['mount', 'args', 'env', 'clock', 'random', 'stdio', 'imports', 'limits', 'features', 'isolation', 'trust', 'plugin', 'harden'];

/** A path from a policy: absolute as given, else relative to `baseDir` (the policy file's directory). */
function resolvePolicyPath(baseDir: string, path: string): string {
  return path.startsWith('/') || baseDir === '.' ? path : `${baseDir}/${path}`;
}

function readMounts(r: Reader, raw: unknown, baseDir: string): MountPolicy[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) { r.fail('mount', 'expected an array of tables ([[mount]])'); return []; }
  const mounts: MountPolicy[] = [];
  const guests = new Set<string>();
  raw.forEach((m, i) => {
    const path = `mount[${i}]`;
    if (!isObject(m)) { r.fail(path, 'expected a table'); return; }
    r.keys(m, path, ['host', 'guest', 'mode', 'kind']);
    const guest = r.string(m.guest, `${path}.guest`);
    if (!guest) { if (m.guest === undefined) r.fail(`${path}.guest`, 'required'); return; }
    if (guests.has(guest)) r.fail(`${path}.guest`, `'${guest}' is mounted twice`);
    guests.add(guest);
    // A mount no guest could reach by the path meant (`/a/../y`, `/a//y`): refused, here and for the CLI's flags.
    const guestProblem = guestPathProblem(guest);
    if (guestProblem) r.fail(`${path}.guest`, guestProblem);
    const kind = r.string(m.kind, `${path}.kind`) ?? 'host';
    if (kind === 'file') {
      const host = r.string(m.host, `${path}.host`);
      if (!host) { if (m.host === undefined) r.fail(`${path}.host`, 'required'); return; }
      if (m.mode !== undefined && m.mode !== 'ro') r.fail(`${path}.mode`, 'a file mount is read-only');
      if (!guest.startsWith('/') || guest.endsWith('/')) r.fail(`${path}.guest`, 'a file mount needs an absolute guest file path');
      mounts.push({ kind: 'file', host: resolvePolicyPath(baseDir, host), guest });
      return;
    }
    if (kind === 'tmpfs') {
      if (m.host !== undefined) r.fail(`${path}.host`, 'a tmpfs mount has no host path');
      mounts.push({ kind: 'tmpfs', guest });
      return;
    }
    if (kind !== 'host') { r.fail(`${path}.kind`, `'${kind}' is not host, tmpfs or file`); return; }
    const host = r.string(m.host, `${path}.host`);
    if (!host) { if (m.host === undefined) r.fail(`${path}.host`, 'required'); return; }
    const mode = r.string(m.mode, `${path}.mode`) ?? 'ro';
    if (mode !== 'ro' && mode !== 'rw') r.fail(`${path}.mode`, `'${mode}' is not ro or rw`);
    mounts.push({ kind: 'host', host: resolvePolicyPath(baseDir, host), guest, readOnly: mode !== 'rw' });
  });
  return mounts;
}

function readStdio(r: Reader, raw: unknown, baseDir: string): { stdin: StdinPolicy; stdout: OutputPolicy; stderr: OutputPolicy } {
  const out = { stdin: { kind: 'none' } as StdinPolicy, stdout: 'capture' as OutputPolicy, stderr: 'capture' as OutputPolicy };
  if (raw === undefined) return out;
  if (!isObject(raw)) { r.fail('stdio', 'expected a table'); return out; }
  r.keys(raw, 'stdio', ['stdin', 'stdout', 'stderr']);
  const stdin = r.string(raw.stdin, 'stdio.stdin');
  if (stdin === 'none' || stdin === undefined) out.stdin = { kind: 'none' };
  else if (stdin === 'inherit') out.stdin = { kind: 'inherit' };
  else if (stdin.startsWith('file:') && stdin.length > 5) out.stdin = { kind: 'file', path: resolvePolicyPath(baseDir, stdin.slice(5)) };
  else r.fail('stdio.stdin', `'${stdin}' is not none, inherit or file:PATH`);
  for (const key of ['stdout', 'stderr'] as const) {
    const value = r.string(raw[key], `stdio.${key}`);
    if (value === undefined) continue;
    if (value === 'capture' || value === 'inherit' || value === 'discard') out[key] = value;
    else r.fail(`stdio.${key}`, `'${value}' is not capture, inherit or discard`);
  }
  return out;
}

function readLimits(r: Reader, raw: unknown): LimitsPolicy {
  const limits: LimitsPolicy = { ...DEFAULT_LIMITS };
  if (raw === undefined) return limits;
  if (!isObject(raw)) { r.fail('limits', 'expected a table'); return limits; }
  r.keys(raw, 'limits', LIMIT_KEYS.map((k) => k.key));
  const values = limits as unknown as Record<string, number | null>;
  for (const { key, field, kind, min, zeroIsOff } of LIMIT_KEYS) {
    const path = `limits.${key}`;
    const value = kind === 'size' ? r.size(raw[key], path) : kind === 'duration' ? r.duration(raw[key], path) : r.count(raw[key], path, min);
    if (value !== undefined) values[field] = zeroIsOff && value === 0 ? null : value;
  }
  if (limits.memory > 4 * 1024 ** 3) r.fail('limits.memory', 'at most 4GiB (32-bit memories)');
  return limits;
}

/** [plugin]: config strings and the bounds of what a plugin call may make the host keep. */
function readPlugin(r: Reader, raw: unknown): PluginPolicy {
  // No prototype: a key named `__proto__` is a config entry like any other, not a prototype silently set and lost.
  const plugin = { ...DEFAULT_PLUGIN, config: Object.create(null) as Record<string, string> };
  if (raw === undefined) return Object.freeze({ ...plugin, config: Object.freeze(plugin.config) });
  if (!isObject(raw)) { r.fail('plugin', 'expected a table'); return DEFAULT_PLUGIN; }
  r.keys(raw, 'plugin', ['config', 'memory', 'vars', 'logs', 'http_hosts', 'http_response']);
  if (raw.config !== undefined) {
    if (!isObject(raw.config)) r.fail('plugin.config', 'expected a table of strings');
    else for (const [k, v] of Object.entries(raw.config)) {
      if (typeof v !== 'string') r.fail(`plugin.config.${keySegment(k)}`, 'expected a string');
      else plugin.config[k] = v;
    }
  }
  const memory = r.size(raw.memory, 'plugin.memory');
  if (memory !== undefined) plugin.memoryBytes = memory;
  const vars = r.size(raw.vars, 'plugin.vars');
  if (vars !== undefined) plugin.varBytes = vars;
  const logs = r.count(raw.logs, 'plugin.logs');
  if (logs !== undefined) plugin.logLines = logs;
  if (plugin.memoryBytes > 2 ** 32) r.fail('plugin.memory', 'at most 4GiB');
  if (raw.http_hosts !== undefined) {
    if (!Array.isArray(raw.http_hosts)) r.fail('plugin.http_hosts', 'expected an array of origins ("https://api.example.com", "http://127.0.0.1:8080")');
    else {
      const origins: string[] = [];
      for (const [i, h] of raw.http_hosts.entries()) {
        const origin = typeof h === 'string' ? originOf(h) : null;
        if (origin === null) r.fail(`plugin.http_hosts[${i}]`, `${JSON.stringify(h)} is not an origin: scheme http or https, a host, an optional port, no path`);
        else if (!origins.includes(origin)) origins.push(origin);
      }
      plugin.httpHosts = Object.freeze(origins);
    }
  }
  const httpResponse = r.size(raw.http_response, 'plugin.http_response');
  if (httpResponse !== undefined) plugin.httpResponseBytes = httpResponse;
  return Object.freeze({ ...plugin, config: Object.freeze(plugin.config) });
}

/** The keys with repeats of the same public key removed (the first of each kept). */
export function distinctKeys(keys: readonly PublicKey[]): PublicKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => {
    const raw = Buffer.from(k.raw).toString('hex');
    return !seen.has(raw) && (seen.add(raw), true);
  });
}

/** A trusted key: `base64:` followed by a raw or PEM key, or a key file path (relative to `baseDir`). */
function readKey(spec: string, baseDir: string): PublicKey {
  if (spec.startsWith('base64:')) return parsePublicKey(new Uint8Array(Buffer.from(spec.slice(7), 'base64')));
  const path = resolvePolicyPath(baseDir, spec);
  let bytes: Uint8Array;
  try {
    // Bounded: a key path naming /dev/zero, an endless FIFO or a huge file was read whole,
    // until the host's memory ran out, before the key parser could say it is too large.
    bytes = readBoundedBytes(path, MAX_KEY_FILE_BYTES, 'too large to be a key');
  } catch (error) {
    if (error instanceof TooLargeError) throw new Error(`the key file ${spec} is ${error.message}`);
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const base = spec.startsWith('/') ? '' : baseDir === '.' ? ', relative to the working directory' : `, relative to the policy's directory ${baseDir}`;
    throw new Error(`cannot read key ${spec} (${path}${base}): ${code === 'ENOENT' ? 'no such file' : code}`);
  }
  return parsePublicKey(bytes);
}

/**
 * Validates a policy given as a plain object (parsed TOML or JSON, or built in
 * code). Relative paths (mount hosts, key files, stdin files) are resolved
 * against `baseDir` (the policy file's directory); with `.`, they are left relative.
 */
export function parsePolicy(input: unknown, source?: string, baseDir = '.'): Policy {
  const r = new Reader();
  const raw: Raw = input === undefined ? {} : isObject(input) ? input : (r.fail('policy', 'expected a table'), {});
  r.keys(raw, '', TOP_KEYS);
  const mounts = readMounts(r, raw.mount, baseDir);
  const args = r.strings(raw.args, 'args') ?? [];
  const env: Array<[string, string]> = [];
  if (raw.env !== undefined) {
    if (!isObject(raw.env)) r.fail('env', 'expected a table of strings');
    else for (const [k, v] of Object.entries(raw.env)) {
      if (typeof v !== 'string') r.fail(`env.${keySegment(k)}`, `expected a string, got ${describe(v)}`);
      else if (k.includes('=') || k.length === 0) r.fail(`env.${keySegment(k)}`, 'a variable name cannot be empty or contain =');
      else env.push([k, v]);
    }
  }
  let clock: Policy['clock'] = null;
  const clockText = r.string(raw.clock, 'clock');
  if (clockText !== undefined) {
    if (!CLOCK_SYNTAX.test(clockText)) r.fail('clock', /^(coarse|virtual):\d+$/.test(clockText)
      ? `'${clockText.slice(0, 40)}': the resolution has no unit: give one of ns, us, ms, s (e.g. ${clockText.slice(0, 40)}ms)`
      : `'${clockText.slice(0, 40)}' is not a clock policy (real, coarse[:RES], frozen, virtual[:STEP])`);
    else if (clockText !== 'none') {
      try { clock = parseClockPolicy(clockText); } catch (error) { r.fail('clock', (error as Error).message); }
    }
  }
  let random: Policy['random'] = null;
  const randomText = r.string(raw.random, 'random');
  if (randomText !== undefined) {
    const seeded = /^seeded:(\d+)$/.exec(randomText);
    if (randomText === 'none') random = null;
    else if (randomText === 'os') random = { kind: 'os' };
    // The seed is 32 bits: a larger one had been cut to its low bits without a word (two seeds, one stream).
    else if (seeded && Number(seeded[1]) <= 0xffffffff) random = { kind: 'seeded', seed: Number(seeded[1]) };
    else r.fail('random', `'${randomText}' is not none, os or seeded:N (N from 0 to 4294967295)`);
  }
  const stdio = readStdio(r, raw.stdio, baseDir);
  let extraImports: string[] = [];
  let unknownImports: Policy['unknownImports'] = 'refuse';
  if (raw.imports !== undefined) {
    if (!isObject(raw.imports)) r.fail('imports', 'expected a table');
    else {
      r.keys(raw.imports, 'imports', ['allow', 'unknown']);
      extraImports = r.strings(raw.imports.allow, 'imports.allow') ?? [];
      for (const name of extraImports) if (!Object.hasOwn(wasiPreview1Functions, name)) r.fail('imports.allow', `'${name}' is not a wasi_snapshot_preview1 function`);
      const unknown = r.string(raw.imports.unknown, 'imports.unknown');
      if (unknown === 'refuse' || unknown === 'trap' || unknown === 'zero') unknownImports = unknown;
      else if (unknown !== undefined) r.fail('imports.unknown', `'${unknown.slice(0, 40)}' is not refuse, trap or zero`);
    }
  }
  const limits = readLimits(r, raw.limits);
  const plugin = readPlugin(r, raw.plugin);
  const features = new Set<FeatureName>(DEFAULT_FEATURES);
  if (raw.features !== undefined) {
    if (!isObject(raw.features)) r.fail('features', 'expected a table of feature = true|false');
    else for (const [name, on] of Object.entries(raw.features)) {
      if (!(FEATURES as readonly string[]).includes(name)) { r.fail(`features.${keySegment(name)}`, `unknown feature (one of ${FEATURES.join(', ')})`); continue; }
      if (typeof on !== 'boolean') { r.fail(`features.${keySegment(name)}`, 'expected true or false'); continue; }
      if (on) features.add(name as FeatureName); else features.delete(name as FeatureName);
    }
  }
  const isolation = r.string(raw.isolation, 'isolation') ?? 'thread';
  if (isolation !== 'none' && isolation !== 'thread' && isolation !== 'process') r.fail('isolation', `'${isolation}' is not none, thread or process`);
  // harden = ["stack", "null", "rodata", "bulk"]: guards compiled into the module at admission.
  const harden = r.strings(raw.harden, 'harden') ?? [];
  for (const pass of harden) if (!(HARDEN_PASSES as readonly string[]).includes(pass)) r.fail('harden', `'${pass}' is not a hardening pass (one of ${HARDEN_PASSES.join(', ')})`);
  let pins: string[] = [];
  const keys: PublicKey[] = [];
  let require = 0;
  if (raw.trust !== undefined) {
    if (!isObject(raw.trust)) r.fail('trust', 'expected a table');
    else {
      r.keys(raw.trust, 'trust', ['pins', 'keys', 'require']);
      pins = r.strings(raw.trust.pins, 'trust.pins') ?? [];
      for (const pin of pins) if (!/^sha256:[0-9a-f]{64}$/.test(pin)) r.fail('trust.pins', `'${pin}' is not sha256:<64 hex digits>`);
      (r.strings(raw.trust.keys, 'trust.keys') ?? []).forEach((spec, i) => {
        try {
          keys.push(readKey(spec, baseDir));
        } catch (error) {
          r.fail(`trust.keys[${i}]`, (error as Error).message);
        }
      });
      const req = raw.trust.require;
      if (req === undefined) require = keys.length > 0 ? 1 : 0;
      else if (req === 'none') require = 0;
      else if (req === 'any') require = 1;
      else {
        const n = r.count(req, 'trust.require', 1);
        if (n !== undefined) require = n;
      }
      // A threshold counts distinct public keys: one key listed twice (as a file and as
      // base64, say) must not let one signer stand in for two.
      const distinct = distinctKeys(keys);
      if (distinct.length < keys.length) keys.splice(0, keys.length, ...distinct);
      if (require > keys.length) r.fail('trust.require', `needs ${require} signers but trust.keys lists ${keys.length} distinct key${keys.length === 1 ? '' : 's'}`);
    }
  }
  if (r.problems.length) throw new PolicyError(r.problems, source);
  const policy: Policy = {
    mounts: Object.freeze(mounts.map((m) => Object.freeze(m))), args: Object.freeze(args),
    env: Object.freeze(env.map((e) => Object.freeze(e) as readonly [string, string])), clock: clock && Object.freeze(clock),
    random: random && Object.freeze(random), stdin: Object.freeze(stdio.stdin), stdout: stdio.stdout, stderr: stdio.stderr,
    extraImports: Object.freeze(extraImports), unknownImports, limits: Object.freeze(limits), features: freezeSet(features),
    isolation: isolation as Policy['isolation'], pins: Object.freeze(pins),
    trust: Object.freeze({ keys: Object.freeze(keys), require }),
    plugin,
    harden: Object.freeze(HARDEN_PASSES.filter((p) => harden.includes(p))),
  };
  return Object.freeze(policy);
}

function freezeSet<T>(set: Set<T>): ReadonlySet<T> {
  const frozen = new Set(set);
  const refuse = () => { throw new TypeError('the policy is frozen'); };
  Object.defineProperties(frozen, { add: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } });
  return Object.freeze(frozen);
}

/** The empty policy: stdout and stderr, nothing else. */
export const EMPTY_POLICY: Policy = parsePolicy({});
