// The shape of a grant given to defineGrant, checked where it is made: a
// JavaScript caller (or TypeScript through `any`) could pass `stdout:
// 'capture'` or a mount without its host path, which otherwise surfaced deep in
// a run as "Cannot read properties of undefined". Each problem is one
// TypeError naming the field and what it takes, as the other argument checks
// of the library do.

import type { GrantSpec } from './grant.js';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const isDescriptor = (value: unknown): boolean => Number.isInteger(value) && (value as number) >= 0;
const shown = (value: unknown): string => JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);

function fail(field: string, takes: string, value: unknown): never {
  throw new TypeError(`defineGrant: ${field} must be ${takes}, not ${shown(value)}`);
}

function checkKind(field: string, value: unknown, kinds: Record<string, (spec: Record<string, unknown>) => boolean>, takes: string): void {
  if (!isObject(value) || typeof value.kind !== 'string' || !Object.hasOwn(kinds, value.kind) || !kinds[value.kind]!(value)) fail(field, takes, value);
}

const OUTPUT_KINDS = { inherit: () => true, capture: () => true, discard: () => true, fd: (s: Record<string, unknown>) => isDescriptor(s.fd) };
const OUTPUT_TAKES = "{ kind: 'inherit' | 'capture' | 'discard' } or { kind: 'fd', fd: <descriptor> }";

/** Throws a TypeError naming the first field of `grant` that is not of its type. */
export function checkGrantShape(grant: GrantSpec): void {
  if (!Array.isArray(grant.args) || !grant.args.every((a) => typeof a === 'string')) fail('args', 'an array of strings', grant.args);
  if (!Array.isArray(grant.env) || !grant.env.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'string')) {
    fail('env', 'an array of [name, value] string pairs', grant.env);
  }
  if (!Array.isArray(grant.mounts)) fail('mounts', 'an array of { host, guest, readOnly }', grant.mounts);
  for (const [i, m] of grant.mounts.entries()) {
    if (!isObject(m) || typeof m.host !== 'string' || typeof m.guest !== 'string' || typeof m.readOnly !== 'boolean') {
      fail(`mounts[${i}]`, '{ host: string, guest: string, readOnly: boolean }', m);
    }
  }
  checkKind('clock', grant.clock, {
    real: () => true,
    frozen: () => true,
    coarse: (s) => typeof s.resolutionNs === 'bigint' && s.resolutionNs > 0n,
    virtual: (s) => typeof s.stepNs === 'bigint' && s.stepNs >= 0n && (s.startNs === undefined || typeof s.startNs === 'bigint'),
  }, "{ kind: 'real' | 'frozen' }, { kind: 'coarse', resolutionNs: <bigint > 0> } or { kind: 'virtual', stepNs: <bigint> }");
  checkKind('random', grant.random, { os: () => true, seeded: (s) => Number.isInteger(s.seed) }, "{ kind: 'os' } or { kind: 'seeded', seed: <integer> }");
  checkKind('stdin', grant.stdin, {
    none: () => true,
    buffer: (s) => s.data instanceof Uint8Array,
    fd: (s) => isDescriptor(s.fd),
    file: (s) => typeof s.path === 'string',
  }, "{ kind: 'none' }, { kind: 'buffer', data: <Uint8Array> }, { kind: 'fd', fd: <descriptor> } or { kind: 'file', path: <string> }");
  checkKind('stdout', grant.stdout, OUTPUT_KINDS, OUTPUT_TAKES);
  checkKind('stderr', grant.stderr, OUTPUT_KINDS, OUTPUT_TAKES);
  for (const [key, value] of Object.entries(grant.limits)) {
    if (key === 'timeoutMs' ? !(value === null || (typeof value === 'number' && value >= 0 && Number.isFinite(value))) : !(Number.isSafeInteger(value) && (value as number) >= 0)) {
      fail(`limits.${key}`, key === 'timeoutMs' ? 'null or a finite number of ms' : 'a whole number, 0 or more', value);
    }
  }
}
