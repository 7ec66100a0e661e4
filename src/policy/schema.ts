// The JSON Schema of a policy document, for editors. Generated from the
// loader's own tables (limit keys, units, features, defaults), and committed
// as docs/policy.schema.json; a test fails when the committed file is stale.

import { LIMIT_KEYS } from './limit-keys.js';
import { DEFAULT_FEATURES, DEFAULT_LIMITS, FEATURES } from './policy.js';
import { durationUnits, sizeUnits } from './units.js';

type Schema = Record<string, unknown>;

/** `kib` → `[kK][iI][bB]`: ECMA-262 patterns have no case-insensitive flag. */
const anyCase = (word: string) => [...word].map((c) => `[${c.toLowerCase()}${c.toUpperCase()}]`).join('');

/** A number followed by one of `units`, as units.ts reads it. */
function unitPattern(units: Readonly<Record<string, number>>): string {
  const names = Object.keys(units).filter((u) => u !== '').sort((a, b) => b.length - a.length);
  // The unit is optional only where a bare number has a meaning (sizes: bytes).
  const optional = Object.hasOwn(units, '') ? '?' : '';
  return `^\\s*\\d+(\\.\\d+)?\\s*(${names.map(anyCase).join('|')})${optional}\\s*$`;
}

const sizeSchema = (description: string, fallback: number): Schema => ({
  description,
  default: fallback,
  oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: unitPattern(sizeUnits) }],
});

const durationSchema = (description: string, fallback: number | null): Schema => ({
  description,
  default: fallback ?? 0,
  oneOf: [{ type: 'number', minimum: 0, maximum: 2 ** 31 }, { type: 'string', pattern: unitPattern(durationUnits) }],
});

/** The clock policies parseClockPolicy reads, and `none`. */
export const CLOCK_PATTERN = '^(none|real|frozen|(coarse|virtual)(:\\d+(ns|us|ms|s))?)$';

function limitsSchema(): Schema {
  const properties: Schema = {};
  for (const { key, field, kind, min, zeroIsOff, description } of LIMIT_KEYS) {
    const fallback = DEFAULT_LIMITS[field];
    if (kind === 'size') properties[key] = sizeSchema(description, fallback as number);
    else if (kind === 'duration') properties[key] = durationSchema(description, fallback);
    else properties[key] = { description, type: 'integer', minimum: min ?? 0, default: fallback ?? (zeroIsOff ? 0 : undefined) };
  }
  return { description: 'Limits of one run; every key has a default.', type: 'object', additionalProperties: false, properties };
}

export function policySchema(): Schema {
  const stringArray = { type: 'array', items: { type: 'string' } };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://wasm-warden.dev/schemas/policy-v1.json',
    title: 'wasm-warden policy',
    description: 'Everything a module is granted and limited to. Deny by default: the empty policy grants stdout and stderr only.',
    type: 'object',
    additionalProperties: false,
    properties: {
      args: { ...stringArray, description: "The guest's argv, argv[0] first.", default: ['module.wasm'] },
      env: { description: "The guest's environment; nothing of the host's is added.", type: 'object', additionalProperties: { type: 'string' }, propertyNames: { pattern: '^[^=]+$' } },
      clock: { description: 'The clock granted: none (clock imports refused), real, coarse[:RES], frozen or virtual[:STEP].', type: 'string', pattern: CLOCK_PATTERN, default: 'none' },
      random: { description: 'The random source: none (random_get refused), os, or seeded:N.', type: 'string', pattern: '^(none|os|seeded:\\d+)$', default: 'none' },
      mount: {
        description: 'Directories and files granted. kind host (default): host, guest, mode ro|rw; kind tmpfs: guest, an empty scratch directory per run; kind file: host and a guest file path, one read-only file.',
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['guest'],
          properties: {
            kind: { enum: ['host', 'tmpfs', 'file'], default: 'host' },
            host: { type: 'string' },
            guest: { type: 'string', description: "The path the guest opens it by, absolute or relative (leading ./ and .. allowed); no empty, '.' or '..' component after its start, since guests match a mount by spelling." },
            mode: { enum: ['ro', 'rw'], default: 'ro' },
          },
        },
      },
      stdio: {
        type: 'object',
        additionalProperties: false,
        properties: {
          stdin: { description: 'none, inherit, or file:PATH.', type: 'string', pattern: '^(none|inherit|file:.+)$', default: 'none' },
          stdout: { enum: ['capture', 'inherit', 'discard'], default: 'capture' },
          stderr: { enum: ['capture', 'inherit', 'discard'], default: 'capture' },
        },
      },
      imports: {
        description: 'wasi_snapshot_preview1 functions allowed beyond those the grants imply.',
        type: 'object',
        additionalProperties: false,
        properties: {
          allow: stringArray,
          unknown: { description: 'Imports neither WASI nor granted as host functions: refused at admission, or linked to stubs that trap (kind unknown-import) or return zeros.', enum: ['refuse', 'trap', 'zero'], default: 'refuse' },
        },
      },
      limits: limitsSchema(),
      features: {
        description: 'Proposals a module may use beyond WebAssembly 1.0, each true or false.',
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(FEATURES.map((f) => [f, { type: 'boolean', default: DEFAULT_FEATURES.includes(f) }])),
      },
      plugin: {
        description: 'Plugins called through the Extism kernel ABI (warden call): the config they read and the bounds of what they make the host keep.',
        type: 'object',
        additionalProperties: false,
        properties: {
          config: { description: 'What config_get answers.', type: 'object', additionalProperties: { type: 'string' } },
          memory: { description: 'Plugin memory per call; alloc returns 0 beyond.', type: 'string', default: '64MiB' },
          vars: { description: 'Variables kept between calls (keys and values); var_set traps beyond.', type: 'string', default: '1MiB' },
          logs: { description: 'Log lines kept per call; more are counted and dropped.', type: 'integer', minimum: 0, default: 1000 },
          http_hosts: { description: 'Origins (scheme://host[:port]) a plugin\'s http_request may reach, redirects included; none: http_request is refused at admission. Thread isolation only.', type: 'array', items: { type: 'string' }, uniqueItems: true },
          http_response: { description: 'Largest response body http_request brings in; larger fails the call.', type: 'string', default: '1MiB' },
        },
      },
      isolation: { description: 'The caller\'s own thread (none), worker threads in this process, or a child process per sandbox.', enum: ['none', 'thread', 'process'], default: 'thread' },
      harden: { description: 'Hardening passes compiled into the module at admission (docs/memory-safety.md).', type: 'array', items: { enum: ['stack', 'null', 'rodata', 'bulk'] }, uniqueItems: true },
      trust: {
        type: 'object',
        additionalProperties: false,
        properties: {
          keys: { ...stringArray, description: 'Trusted public keys: file paths (relative to the policy file) or base64:KEY.' },
          require: { description: 'Distinct trusted signers needed: none, any, or a number (default any when keys are listed).', oneOf: [{ enum: ['none', 'any'] }, { type: 'integer', minimum: 1 }] },
          pins: { description: 'If given, only modules with one of these digests are admitted.', type: 'array', items: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } },
        },
      },
    },
  };
}

/** The schema as committed in docs/policy.schema.json. */
export function policySchemaText(): string {
  return JSON.stringify(policySchema(), null, 2) + '\n';
}
