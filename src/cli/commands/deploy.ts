// warden deploy TENANT MODULE --admin URL [--data-dir DIR] [--timeout DURATION] [--json]

import { openStore, StoreError } from '../../store/local.js';
import { isStoreDigest } from '../../store/reference.js';
import { adminCall, adminTimeout, adminToken, reportAdmin } from '../admin-client.js';
import { flag, parseArgs } from '../args.js';
import { dataDir } from '../data-dir.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { readModuleFile } from '../read-module.js';

export const usage = `usage: warden deploy TENANT MODULE --admin URL [--data-dir DIR] [--timeout DURATION] [--json]

Deploys a module to a tenant of a running 'warden serve'. MODULE is a file, a
store digest (sha256:…, uploaded from the local store when it is there), or an
OCI reference pinned by digest (REGISTRY/REPO@sha256:…, pulled by the server).
The server admits it under the tenant's policy (trust included) before it
replaces the old version; requests in flight finish on the old one.
The token comes from $WARDEN_ADMIN_TOKEN. --admin: http://HOST:PORT or unix:PATH.
--timeout: how long the whole call may take (default 2m).
Exit 0 deployed, 1 refused (the reason on stderr), 2 bad usage or unreachable.`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { admin: { value: true }, timeout: { value: true }, 'data-dir': { value: true }, json: {}, help: {} });
  if (args.switches.has('help')) {
    io.stdout(usage + '\n');
    return ExitCode.OK;
  }
  if (args.positionals.length !== 2) throw new UsageError('needs TENANT and MODULE');
  const [tenant, module] = args.positionals as [string, string];
  const admin = flag(args, 'admin');
  if (!admin) throw new UsageError('needs --admin URL (http://HOST:PORT or unix:PATH)');
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(tenant)) throw new UsageError(`'${tenant.slice(0, 64)}' is not a tenant id`);
  const timeoutMs = adminTimeout(args);
  const token = adminToken(io);
  let body: { type: string; data: Uint8Array };
  if (/@sha256:[0-9a-f]{64}$/.test(module)) {
    body = { type: 'application/json', data: Buffer.from(JSON.stringify({ module })) };
  } else if (isStoreDigest(module)) {
    const store = openStore(dataDir(flag(args, 'data-dir'), io));
    let data: Uint8Array | null = null;
    try {
      data = store.has(module) ? store.get(module) : null;
    } catch (error) {
      // Stored bytes that no longer hash to their digest: the user's input, named, and nothing sent.
      if (error instanceof StoreError) throw new InputError(error.message);
      throw error;
    }
    body = data ? { type: 'application/wasm', data } : { type: 'application/json', data: Buffer.from(JSON.stringify({ module })) };
  } else {
    body = { type: 'application/wasm', data: readModuleFile(module, io.cwd) };
  }
  const res = await adminCall(admin, `/tenants/${tenant}/deploy`, token, body, timeoutMs);
  return reportAdmin(io, 'deploy', res, args.switches.has('json'), (b) =>
    b.changed === false ? `${tenant} already serves ${String(b.digest)}` : `deployed ${String(b.digest)} to ${tenant} (previous ${String(b.previous ?? 'none')})`);
}
