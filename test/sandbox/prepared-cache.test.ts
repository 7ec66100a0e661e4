// The prepared-module cache in memory: its key is the module's digest and the
// hash of everything preparing reads of the policy (prepare-config.ts). Every
// such value changed is a miss; a value preparing does not read changed is a
// hit; sandboxes with the same bytes and config share one compiled module.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/policy.js';
import { generateKeyPair } from '../../src/signing/keys.js';
import { signModule } from '../../src/signing/sign.js';
import { configHash, prepareConfig } from '../../src/sandbox/prepare-config.js';
import { PreparedCache, type PreparedModule } from '../../src/sandbox/prepared-cache.js';
import { AdmissionError, digestOf } from '../../src/sandbox/prepare.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import type { HostFunctionSignature } from '../../src/sandbox/host-functions.js';
import { wat } from '../helpers/wat.js';
import { growSource } from './grow-module.js';

const alice = generateKeyPair();
const bob = generateKeyPair();
const module = signModule(await wat(growSource()), alice.secretKey).module;
const base: Policy = parsePolicy({ limits: { memory: '256KiB' }, isolation: 'none' });

type Change = { base?: Policy; policy?: (p: Policy) => Policy; hostFunctions?: HostFunctionSignature[]; entry?: string | null; hostMemory?: boolean };
const limit = (p: Policy, change: Partial<Policy['limits']>): Policy => ({ ...p, limits: { ...p.limits, ...change } });

// One change per value preparing reads, named by its path in the prepare config.
const misses: Record<string, Change> = {
  'trust.keys': { base: { ...base, trust: { keys: [alice.publicKey], require: 1 } }, policy: (p) => ({ ...p, trust: { keys: [bob.publicKey], require: 1 } }) },
  'trust.require': { policy: (p) => ({ ...p, trust: { keys: [alice.publicKey], require: 1 } }) },
  pins: { policy: (p) => ({ ...p, pins: [digestOf(module)] }) },
  mounts: { policy: (p) => ({ ...p, mounts: [{ kind: 'tmpfs', guest: '/tmp' }] }) },
  clock: { policy: (p) => ({ ...p, clock: p.clock ? null : { kind: 'frozen' } as Policy['clock'] }) },
  random: { policy: (p) => ({ ...p, random: p.random ? null : { kind: 'os' } }) },
  extraImports: { policy: (p) => ({ ...p, extraImports: ['fd_read'] }) },
  unknownImports: { policy: (p) => ({ ...p, unknownImports: 'trap' }) },
  features: { policy: (p) => ({ ...p, features: new Set([...p.features].filter((f) => f !== 'simd')) }) },
  harden: { policy: (p) => ({ ...p, harden: ['stack'] }) },
  pluginHttp: { policy: (p) => ({ ...p, plugin: { ...p.plugin, httpHosts: ['http://127.0.0.1:8080'] } }) },
  'limits.moduleBytes': { policy: (p) => limit(p, { moduleBytes: 1024 * 1024 }) },
  'limits.memory': { policy: (p) => limit(p, { memory: 512 * 1024 }) },
  'limits.tables': { policy: (p) => limit(p, { tables: 3 }) },
  'limits.tableElements': { policy: (p) => limit(p, { tableElements: 99 }) },
  'limits.memories': { policy: (p) => limit(p, { memories: 2 }) },
  'limits.functions': { policy: (p) => limit(p, { functions: 999 }) },
  'limits.dataBytes': { policy: (p) => limit(p, { dataBytes: 4096 }) },
  'limits.fuel': { policy: (p) => limit(p, { fuel: 1_000_000 }) },
  'limits.deadline': { policy: (p) => limit(p, { timeoutMs: 1000 }) },
  hostFunctions: { hostFunctions: [{ module: 'env', name: 'add', params: ['i32'], results: ['i32'] }] },
  entry: { entry: '_start' },
  hostMemory: { hostMemory: true },
};

// Changes to values preparing does not read: the same prepared module serves them.
const hits: Record<string, (p: Policy) => Policy> = {
  env: (p) => ({ ...p, env: [['K', 'V']] }),
  args: (p) => ({ ...p, args: ['x'] }),
  'a mount\'s host directory, guest path and mode': (p) => ({ ...p, mounts: [{ kind: 'host', host: '/somewhere/else', guest: '/data', readOnly: false }] }),
  'one mount for another': (p) => ({ ...p, mounts: [{ kind: 'tmpfs', guest: '/tmp' }] }),
  'the kind of clock': (p) => ({ ...p, clock: { kind: 'real' } as Policy['clock'] }),
  'the deadline\'s length': (p) => limit(p, { timeoutMs: 5000 }),
  'output, descriptors, files, writes': (p) => limit(p, { outputBytes: 10, fds: 5, files: 1, writeBytes: 1 }),
  'concurrency and queue': (p) => limit(p, { concurrency: 9, queue: 0 }),
  isolation: (p) => ({ ...p, isolation: 'process' }),
  stdio: (p) => ({ ...p, stdout: 'discard', stderr: 'inherit' }),
  'plugin config': (p) => ({ ...p, plugin: { ...p.plugin, config: { a: 'b' } } }),
  'trust keys while no signature is required': (p) => ({ ...p, trust: { keys: [bob.publicKey], require: 0 } }),
};

function get(cache: PreparedCache, policy: Policy, hostFunctions: HostFunctionSignature[] = [], entry: string | null = null, hostMemory = false): Promise<PreparedModule> {
  const config = prepareConfig(policy, hostFunctions, entry, hostMemory);
  return cache.get(module, config, configHash(config));
}

/** The paths of a config's leaves (arrays and sets are leaves). */
function leaves(value: object, prefix = ''): string[] {
  return Object.entries(value).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Set) ? leaves(v as object, `${prefix}${k}.`) : [`${prefix}${k}`]);
}

describe('prepared-module cache key', () => {
  it('names every value preparing reads: each has a change below that must miss', () => {
    assert.deepEqual(leaves(prepareConfig(base)).sort(), Object.keys(misses).sort());
  });

  for (const [path, change] of Object.entries(misses)) {
    it(`a change of ${path} is a miss`, async () => {
      const cache = new PreparedCache();
      const before = change.base ?? base;
      const first = await get(cache, before);
      const after = change.policy ? change.policy(before) : before;
      const second = await get(cache, after, change.hostFunctions, change.entry ?? null, change.hostMemory).catch((e: unknown) => e);
      assert.ok(second !== first, 'served the module prepared under the other config');
      if (!(second instanceof AdmissionError)) {
        assert.ok((second as PreparedModule).compiled instanceof WebAssembly.Module);
        assert.equal(cache.size, 2);
      }
    });
  }

  for (const [what, change] of Object.entries(hits)) {
    it(`a change of ${what} is a hit`, async () => {
      const cache = new PreparedCache();
      // From a policy that grants a directory, a clock and a deadline (the hits above change which, and how long).
      const from: Policy = limit({ ...base, mounts: [{ kind: 'host', host: '/one/place', guest: '/', readOnly: true }], clock: { kind: 'frozen' } as Policy['clock'] }, { timeoutMs: 1000 });
      const first = await get(cache, from);
      assert.ok(await get(cache, change(from)) === first, 'prepared again');
      assert.equal(cache.size, 1);
    });
  }

  it('a value of a kind the hash does not know is refused, never hashed as nothing', () => {
    const config = { ...prepareConfig(base), extra: new Map([[1, 2]]) };
    assert.throws(() => configHash(config as never), /cannot be hashed/);
  });
});

describe('prepared-module cache in memory', () => {
  it('two sandboxes with the same bytes and policy share one compiled module; a different policy gets its own', async (t) => {
    const cache = new PreparedCache();
    const one = await createSandbox(base, { cache });
    const two = await createSandbox(base, { cache });
    const smaller = parsePolicy({ limits: { memory: '128KiB' }, isolation: 'none' });
    const other = await createSandbox(smaller, { cache });
    t.after(() => Promise.all([one.close(), two.close(), other.close()]));
    assert.equal((await one.run(module)).exitCode, 4);
    assert.equal((await two.run(module)).exitCode, 4);
    assert.equal(cache.size, 1, 'the second sandbox prepared the module again');
    // A long-lived sandbox prepares with its memory lent by the host.
    const shared = await get(cache, base, [], null, true);
    assert.equal(cache.size, 1);
    assert.equal((await other.run(module)).exitCode, 2);
    assert.equal(cache.size, 2);
    assert.ok((await get(cache, smaller, [], null, true)).compiled !== shared.compiled);
  });

  it('sandboxes share the process\'s cache by default, and cache: false keeps a sandbox\'s modules its own', async (t) => {
    const { sharedPreparedCache } = await import('../../src/sandbox/prepared-cache.js');
    const fresh = await wat(growSource('own'));
    const before = sharedPreparedCache().size;
    const privateCache = await createSandbox(base, { cache: false });
    t.after(() => privateCache.close());
    assert.equal((await privateCache.run(fresh)).exitCode, 4);
    assert.equal(sharedPreparedCache().size, before);
    const sandboxes = await Promise.all([createSandbox(base), createSandbox(base)]);
    t.after(() => Promise.all(sandboxes.map((s) => s.close())));
    for (const sandbox of sandboxes) assert.equal((await sandbox.run(fresh)).exitCode, 4);
    assert.equal(sharedPreparedCache().size, before + 1);
  });

  it('is bounded by bytes, evicting the least recently used', async () => {
    const modules = await Promise.all(['a', 'b', 'c'].map((name) => wat(growSource(name))));
    const cost = 2 * modules[0]!.length + 4096 + 64;
    const cache = new PreparedCache({ maxBytes: 2 * cost + 100 });
    const config = prepareConfig(base, [], null);
    const key = configHash(config);
    const a = await cache.get(modules[0]!, config, key);
    await cache.get(modules[1]!, config, key);
    assert.ok(await cache.get(modules[0]!, config, key) === a, 'a is kept (and now the most recently used)');
    await cache.get(modules[2]!, config, key);
    assert.equal(cache.size, 2);
    assert.ok(cache.bytes <= 2 * cost + 100, `${cache.bytes} bytes kept`);
    assert.ok(await cache.get(modules[0]!, config, key) === a, 'b, the least recently used, went instead of a');
    assert.equal(cache.size, 2);
  });

  it('keeps no module larger than its bound, and forgets a refusal', async () => {
    const cache = new PreparedCache({ maxBytes: 100 });
    const config = prepareConfig(base, [], null);
    const first = await cache.get(module, config, configHash(config));
    assert.equal(cache.size, 0);
    assert.ok(await cache.get(module, config, configHash(config)) !== first);
    const refusing = prepareConfig(limit(base, { functions: 0 }), [], null);
    await assert.rejects(cache.get(module, refusing, configHash(refusing)), AdmissionError);
    assert.equal(cache.size, 0);
  });
});
