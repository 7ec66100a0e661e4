// Hostile input on the operator's side: random config tables, mutated TOML
// files and random routes. A config is either accepted or refused with one
// ConfigError whose message is one line and names each problem's key path;
// nothing else is ever thrown. The route table's answer is always the most
// specific matching route, splitting the path exactly.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ADMIN_KEYS, ConfigError, loadConfigFile, parseConfig, SERVER_KEYS, TENANT_KEYS, TENANT_LIMIT_KEYS, TENANT_POLICY_KEYS, TOP_KEYS } from '../../src/server/config.js';
import { parseRoute, RouteTable, type Route } from '../../src/server/routes.js';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { example } from './harness.js';

const RUNS = Number(process.env.WARDEN_FUZZ_RUNS ?? 300);

/** Where each problem of a refused config must start: a key path the loader knows, or the TOML parser's verdict. */
const SEGMENT = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*")(?:\[\d+\])*`;
const KEY_PATH = new RegExp(String.raw`^(?:not valid TOML: |cannot read |expected a table$|${SEGMENT}(?:\.${SEGMENT})*: )`);

function checkOutcome(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error instanceof Error ? error.stack : String(error)}`);
    assert.doesNotMatch(error.message, /[\r\n\u2028\u2029]/, `the error is one line: ${JSON.stringify(error.message)}`);
    assert.ok(error.problems.length > 0);
    for (const problem of error.problems) assert.match(problem, KEY_PATH, `a problem names its key path: ${JSON.stringify(problem)}`);
  }
}

// Values of every kind TOML can produce, and some it cannot.
const scalar = fc.oneof(
  fc.string({ maxLength: 12 }), fc.constantFrom('', '0', '1s', '64MiB', '-1', 'unix:/x', '127.0.0.1:0', '/t/...', 'sha256:00', 'a\nb', '\u2028', 'x'.repeat(300)),
  fc.integer(), fc.double(), fc.bigInt(), fc.boolean(), fc.constant(null), fc.date({ noInvalidDate: true }),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 3 })),
})).v;
/** A table with keys drawn mostly from `known` (plus strangers), values of any kind, or those from `sub`. */
const table = (known: readonly string[], sub: Record<string, fc.Arbitrary<unknown>> = {}) => fc.dictionary(
  fc.oneof({ arbitrary: fc.constantFrom(...known), weight: 5 }, { arbitrary: fc.string({ maxLength: 8 }), weight: 1 }),
  fc.oneof({ arbitrary: value, weight: 2 }, { arbitrary: fc.constant(undefined), weight: 1 }),
  { maxKeys: known.length + 1 },
).chain((t) => fc.record(Object.fromEntries(Object.keys(sub).map((k) => [k, fc.option(sub[k]!, { nil: undefined })]))).map((s) => {
  const out: Record<string, unknown> = { ...t };
  for (const [k, v] of Object.entries(s)) if (v !== undefined) out[k] = v;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}));
const policyTable = table(TENANT_POLICY_KEYS, { limits: table(['memory', 'fuel', 'timeout', 'output', 'write', 'files', 'fds', 'concurrency', 'queue']) });
const tenantTable = table(TENANT_KEYS, {
  id: fc.oneof(fc.constantFrom('a', 'shop', 'x-1', 'A', '', '-a'), fc.string({ maxLength: 70 })),
  routes: fc.array(fc.oneof(fc.constantFrom('/a/...', '/', '/...', 'h.example', 'h.example/p/...', '/a/../b', '//', '/a/'), fc.string({ maxLength: 20 }), value), { maxLength: 3 }),
  module: fc.oneof(fc.constant(example('hello.wasm')), fc.constantFrom(`sha256:${'a'.repeat(64)}`, 'reg.io/r:tag', `reg.io/r@sha256:${'b'.repeat(64)}`, 'sha256:zz'), fc.string({ maxLength: 20 })),
  limits: table(TENANT_LIMIT_KEYS),
  policy: policyTable,
});
const configTable = table(TOP_KEYS, {
  admin: table([...ADMIN_KEYS, 'token']),
  server: table(SERVER_KEYS),
  tenant: fc.oneof(fc.array(tenantTable, { maxLength: 3 }), value),
});

const VALID = (dataDir: string) => `
listen = "127.0.0.1:0"
data-dir = "${dataDir}"

[admin]
listen = "127.0.0.1:0"
token-env = "TOKEN"

[server]
workers = 2
grace = "1s"
max-header = "16KiB"
live-sandboxes = 4
isolate-after = 3

[[tenant]]
id = "shop"
routes = ["/shop/...", "shop.example.com"]
module = "${example('hello.wasm')}"
pass-headers = ["authorization"]
[tenant.limits]
concurrency = 2
queue = 16
rate = 200
burst = 400
body = "1MiB"
storage = "64MiB"
[tenant.policy]
isolation = "process"
clock = "frozen"
[tenant.policy.limits]
memory = "128MiB"
fuel = 500000000
timeout = "1s"

[[tenant]]
id = "kv"
routes = ["/kv/..."]
module = "${example('kv.wasm')}"
`;

/** One edit of a TOML text: a span deleted, bytes inserted, a line duplicated or dropped, a value swapped. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('"', '[', ']', '=', '\n', '[[tenant]]\n', '\\', '#', '\u0000', '"""', '.', '-1', '1e999')) }),
  fc.record({ kind: fc.constant('line' as const), at: fc.nat(), copy: fc.boolean() }),
  fc.record({ kind: fc.constant('value' as const), at: fc.nat(), text: fc.constantFrom('0', '-1', '"x"', '[]', '{}', 'true', '"1KiB"', '"0s"', '99999999999999999999', '"unix:/s"', '"/"', '[[1]]', '1979-05-27') }),
);

function mutate(text: string, edits: Array<{ kind: string; at: number; length?: number; text?: string; copy?: boolean }>): string {
  for (const edit of edits) {
    const at = edit.at % (text.length + 1);
    if (edit.kind === 'delete') text = text.slice(0, at) + text.slice(at + edit.length!);
    else if (edit.kind === 'insert') text = text.slice(0, at) + edit.text! + text.slice(at);
    else if (edit.kind === 'line') {
      const lines = text.split('\n');
      const i = edit.at % lines.length;
      if (edit.copy) lines.splice(i, 0, lines[i]!); else lines.splice(i, 1);
      text = lines.join('\n');
    } else {
      const lines = text.split('\n');
      const i = edit.at % lines.length;
      const eq = lines[i]!.indexOf('= ');
      if (eq !== -1) lines[i] = lines[i]!.slice(0, eq + 2) + edit.text!;
      text = lines.join('\n');
    }
  }
  return text;
}

describe('the serve config, on hostile input', () => {
  it('accepts the unmutated config (the mutations start from a valid one)', (t) => {
    const dir = tempDir(t);
    const path = `${dir}/warden.toml`;
    writeFileSync(path, VALID(`${dir}/data`));
    assert.equal(loadConfigFile(path, { defaultDataDir: () => `${dir}/data` }).tenants.length, 2);
  });

  it('refuses random config tables with one-line ConfigErrors naming key paths, and throws nothing else', (t) => {
    const dir = tempDir(t);
    fc.assert(fc.property(configTable, (raw) => {
      checkOutcome(() => parseConfig(raw, 'fuzz.toml', dir, { defaultDataDir: () => `${dir}/data` }));
    }), { numRuns: RUNS });
  });

  it('refuses mutated TOML files the same way (read from real files)', (t) => {
    const dir = tempDir(t);
    const path = `${dir}/warden.toml`;
    const base = VALID(`${dir}/data`);
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (edits) => {
      writeFileSync(path, mutate(base, edits));
      checkOutcome(() => loadConfigFile(path, { defaultDataDir: () => `${dir}/data` }));
    }), { numRuns: RUNS });
  });

  it('through `warden serve`, a refused mutated config is one stderr line and exit 2', async (t) => {
    const dir = tempDir(t);
    const base = VALID(`${dir}/data`);
    const refused = fc.sample(fc.array(mutation, { minLength: 1, maxLength: 4 }), { numRuns: 200, seed: 14 })
      .map((edits) => mutate(base, edits))
      .filter((text) => { writeFileSync(`${dir}/probe.toml`, text); try { loadConfigFile(`${dir}/probe.toml`, { defaultDataDir: () => `${dir}/data` }); return false; } catch { return true; } })
      .slice(0, 8);
    assert.equal(refused.length, 8);
    for (const [i, text] of refused.entries()) {
      const path = `${dir}/warden-${i}.toml`;
      writeFileSync(path, text);
      const result = await runWarden(['serve', '--config', path, '--listen', '127.0.0.1:0', '--data-dir', `${dir}/data`], { timeoutMs: 20_000, env: { TOKEN: 'a-token-long-enough-0123' } });
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^warden serve: [^\n]+\n$/);
      assert.ok(result.stderr.includes(path), 'the file is named');
    }
  });

  it('reports a key or value with line breaks on one line', (t) => {
    const dir = tempDir(t);
    for (const raw of [{ 'a\nb': 1 }, { tenant: [{ id: 'x\ny', routes: ['/x'], module: 'm.wasm' }] }, { server: { 'w\u2028': 1 } }, { tenant: [{ id: 'x', routes: ['/x\r\n/...'], module: 'm.wasm' }] }]) {
      checkOutcome(() => parseConfig(raw, 'fuzz.toml', dir, { defaultDataDir: () => `${dir}/data` }));
      assert.throws(() => parseConfig(raw, 'fuzz.toml', dir, { defaultDataDir: () => `${dir}/data` }), ConfigError);
    }
  });
});

/** The most specific route matching, by the documented rule, found by trying every route. */
function modelMatch(routes: Route[], host: string, path: string): Route | null {
  const name = host.toLowerCase();
  const noPort = name.replace(/:\d+$/, '');
  const matching = routes.filter((r) => (r.host === null || r.host === name || r.host === noPort)
    && (r.path === '/' ? (r.wildcard || path === '/') : path === r.path || (r.wildcard && path.startsWith(r.path + '/'))));
  matching.sort((a, b) => Number(b.host !== null) - Number(a.host !== null) || b.path.length - a.path.length || Number(a.wildcard) - Number(b.wildcard));
  return matching[0] ?? null;
}

const segment = fc.oneof(fc.constantFrom('a', 'b', 'ab', 't', 'hello', '', '.', '..', '...', '%2F', '%00', 'x y'), fc.string({ maxLength: 4 }));
const pathText = fc.array(segment, { maxLength: 4 }).map((s) => '/' + s.join('/'));
const routeText = fc.oneof(
  fc.tuple(fc.option(fc.constantFrom('h.example', 'H.Example', 'h.example:8080', 'bad_host', ''), { nil: null }), pathText, fc.boolean())
    .map(([host, path, wild]) => `${host ?? ''}${host !== null && path === '/' ? '' : path}${wild ? (path.endsWith('/') ? '...' : '/...') : ''}`),
  fc.string({ maxLength: 24 }),
);

describe('routes, on hostile input', () => {
  it('parses any text to a route or a reason, never throwing', () => {
    fc.assert(fc.property(fc.oneof(routeText, fc.string({ unit: 'binary', maxLength: 40 })), (text) => {
      const route = parseRoute(text);
      if (typeof route === 'string') return;
      assert.ok(route.path.startsWith('/'));
      assert.doesNotMatch(route.path, /(^|\/)\.\.?(\/|$)/, 'no dot segments in an accepted route');
    }), { numRuns: RUNS * 3 });
  });

  it('matches the most specific route and splits the path exactly, for any host and path', () => {
    fc.assert(fc.property(fc.array(routeText, { maxLength: 6 }), fc.constantFrom('h.example', 'H.EXAMPLE:8080', 'other', '', 'h.example:1'), fc.oneof(pathText, fc.string({ maxLength: 16 })), (texts, host, path) => {
      const table = new RouteTable<number>();
      const routes: Route[] = [];
      const seen = new Set<string>();
      for (const text of texts) {
        const route = parseRoute(text);
        if (typeof route === 'string') continue;
        // The config refuses two tenants on one route; the table is built from accepted configs only.
        const key = `${route.host ?? ''}${route.path}${route.wildcard ? '/...' : ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        routes.push(route);
        table.add(route, routes.length - 1);
      }
      const match = table.match(host, path);
      const expected = modelMatch(routes, host, path);
      if (expected === null) { assert.equal(match, null); return; }
      assert.ok(match);
      assert.deepEqual(match.route, expected);
      assert.equal(match.scriptName + match.rawPathInfo, path);
    }), { numRuns: RUNS * 3 });
  });
});
