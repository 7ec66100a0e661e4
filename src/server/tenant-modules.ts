// The server's prepared modules: one in-memory cache for every tenant (and
// every tenant's sandboxes), behind it the on-disk store under the data dir
// (docs/cache.md), and what each lookup did, counted per tenant. Admission at
// deploy and a tenant's requests go through the same key (the module's digest
// and the hash of the tenant's prepare config), so a deployed module is
// prepared and compiled once, at the deploy, and its first request finds it.

import type { Policy } from '../policy/policy.js';
import { entryViolations } from '../sandbox/entry-admission.js';
import { AdmissionError } from '../sandbox/admission-error.js';
import { configHash, prepareConfig, type PrepareConfig } from '../sandbox/prepare-config.js';
import { PreparedCache, sharedPreparedCache, type PreparedModule } from '../sandbox/prepared-cache.js';
import { PreparedStore, type PreparedStoreOptions } from '../sandbox/prepared-store.js';

/** What a tenant's lookups did: prepared and compiled afresh, compiled from a verified disk entry, found compiled in memory. */
export interface ModuleCounts {
  compiles: number;
  diskHits: number;
  memoryHits: number;
}

export function noModuleCounts(): ModuleCounts {
  return { compiles: 0, diskHits: 0, memoryHits: 0 };
}

export interface TenantModulesOptions {
  /** The in-memory cache. Default: the process's shared one (the library's sandboxes use it too). */
  memory?: PreparedCache;
  /** The on-disk store (`warden serve`: <data dir>/cache/prepared). Default none. */
  disk?: PreparedStoreOptions;
}

export class TenantModules {
  readonly memory: PreparedCache;
  readonly disk: PreparedStore | null;
  readonly diskOptions: PreparedStoreOptions | null;
  // The config a policy prepares under, hashed once per policy (a tenant keeps its policies).
  private readonly configs = new WeakMap<Policy, { config: PrepareConfig; key: string }>();

  constructor(options: TenantModulesOptions = {}) {
    this.memory = options.memory ?? sharedPreparedCache();
    this.diskOptions = options.disk ?? null;
    this.disk = options.disk ? new PreparedStore(options.disk) : null;
  }

  /**
   * The module prepared and compiled under `policy` exactly as a sandbox of
   * that policy keys it (no host functions; the entry admitted per run), from
   * memory, else disk, else afresh off the event loop for a large module.
   * Rejects with AdmissionError as a fresh admission would.
   */
  async prepare(bytes: Uint8Array, policy: Policy, counts: ModuleCounts): Promise<PreparedModule> {
    const { config, key } = this.configFor(policy);
    let missed = false;
    const module = await this.memory.get(bytes, config, key, this.disk, { onMiss: () => { missed = true; } });
    if (!missed) counts.memoryHits++;
    else if (module.source === 'disk') counts.diskHits++;
    else counts.compiles++;
    return module;
  }

  /**
   * As prepare(), but what the lookup did is counted before it returns, and a
   * module found in memory is reported as `found`: the caller need not wait a
   * promise turn for it (a sandbox of that policy then finds it there too).
   */
  lookup(bytes: Uint8Array, policy: Policy, counts: ModuleCounts): { found: true } | { found: false; loading: Promise<PreparedModule> } {
    const { config, key } = this.configFor(policy);
    let missed = false;
    const module = this.memory.get(bytes, config, key, this.disk, { onMiss: () => { missed = true; } });
    if (!missed) {
      counts.memoryHits++;
      // Its outcome (a refusal too) reaches the caller through the sandbox's own lookup of the same entry
      // (the cache itself handles the entry's rejection, so none goes unhandled).
      return { found: true };
    }
    return {
      found: false,
      loading: module.then((m) => {
        if (m.source === 'disk') counts.diskHits++;
        else counts.compiles++;
        return m;
      }),
    };
  }

  /** Would `policy` admit the module to be served (its `_start` included)? Throws AdmissionError if not. Nothing runs. */
  async admit(bytes: Uint8Array, policy: Policy, counts: ModuleCounts): Promise<void> {
    const module = await this.prepare(bytes, policy, counts);
    // The sandbox admits the entry per run; a deploy refuses a module that could never serve a request.
    const refused = entryViolations(module.exports, '_start');
    if (refused.length) throw new AdmissionError(refused);
  }

  private configFor(policy: Policy): { config: PrepareConfig; key: string } {
    let found = this.configs.get(policy);
    if (!found) {
      // The same projection createSandbox makes for a long-lived sandbox of a policy without host
      // functions (memories lent by the host): the same cache key.
      const config = prepareConfig(policy, [], null, true);
      this.configs.set(policy, (found = { config, key: configHash(config) }));
    }
    return found;
  }
}

let processModules: TenantModules | undefined;

/** Memory only, over the process's shared cache: for a server built without a data dir's disk cache. */
export function defaultTenantModules(): TenantModules {
  return (processModules ??= new TenantModules());
}
