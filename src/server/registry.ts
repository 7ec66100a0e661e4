// The tenant registry: the desired state (which tenants exist, their routes,
// limits and policy, and which module digest each one serves) behind an
// interface, so that several nodes could later share one desired state from a
// distributed store. The default keeps it on one node: the config file plus a
// deployments file in the data dir.

import { mkdirSync, readFileSync } from 'node:fs';
import type { ServeConfig } from './config.js';
import { writeFileAtomic } from '../store/atomic-file.js';

/** A tenant's deployed module: what serves now, what served before, and the config reference it overrode. */
export interface Deployment {
  digest: string;
  previous: string | null;
  /** The tenant's `module` in the config when this was deployed; a different one there wins. */
  configModule: string;
  at: string;
}

export interface TenantRegistry {
  /** The desired state now: the config (re-read on reload). */
  load(): Promise<ServeConfig>;
  /** The deployment recorded for a tenant, or null (the config's module serves). */
  deployment(id: string): Deployment | null;
  /** Records a deployment (deploy or rollback) durably before it takes effect. */
  record(id: string, deployment: Deployment): void;
  /** Forgets a deployment (the config's module changed and wins). */
  forget(id: string): void;
}

interface DeploymentsFile {
  version: 1;
  tenants: Record<string, Deployment>;
}

export class FileTenantRegistry implements TenantRegistry {
  private deployments: Record<string, Deployment>;
  private readonly file: string;

  constructor(private readonly loadConfig: () => ServeConfig, stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.file = `${stateDir}/deployments.json`;
    this.deployments = readDeployments(this.file);
  }

  async load(): Promise<ServeConfig> {
    return this.loadConfig();
  }

  deployment(id: string): Deployment | null {
    return Object.hasOwn(this.deployments, id) ? this.deployments[id]! : null;
  }

  record(id: string, deployment: Deployment): void {
    const next = { ...this.deployments, [id]: deployment };
    this.save(next);
    this.deployments = next;
  }

  forget(id: string): void {
    if (!Object.hasOwn(this.deployments, id)) return;
    const next = { ...this.deployments };
    delete next[id];
    this.save(next);
    this.deployments = next;
  }

  private save(deployments: Record<string, Deployment>): void {
    const body: DeploymentsFile = { version: 1, tenants: deployments };
    writeFileAtomic(this.file, JSON.stringify(body, null, 2) + '\n', 0o600);
  }
}

function readDeployments(file: string): Record<string, Deployment> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const parsed = JSON.parse(text) as DeploymentsFile;
  if (parsed?.version !== 1 || typeof parsed.tenants !== 'object' || parsed.tenants === null) throw new Error(`${file} is not a deployments file`);
  const out: Record<string, Deployment> = {};
  for (const [id, d] of Object.entries(parsed.tenants)) {
    if (typeof d?.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(d.digest)) out[id] = d;
  }
  return out;
}
