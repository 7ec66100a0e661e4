// warden rollback TENANT --admin URL [--timeout DURATION] [--json]

import { adminCall, adminTimeout, adminToken, reportAdmin } from '../admin-client.js';
import { flag, parseArgs } from '../args.js';
import { ExitCode, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';

export const usage = `usage: warden rollback TENANT --admin URL [--timeout DURATION] [--json]

Puts a tenant of a running 'warden serve' back on its previous module digest.
The token comes from $WARDEN_ADMIN_TOKEN. --admin: http://HOST:PORT or unix:PATH.
--timeout: how long the whole call may take (default 2m).
Exit 0 rolled back, 1 refused (no previous version; the reason on stderr), 2 bad usage or unreachable.`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { admin: { value: true }, timeout: { value: true }, json: {}, help: {} });
  if (args.switches.has('help')) {
    io.stdout(usage + '\n');
    return ExitCode.OK;
  }
  if (args.positionals.length !== 1) throw new UsageError('needs TENANT');
  const tenant = args.positionals[0]!;
  const admin = flag(args, 'admin');
  if (!admin) throw new UsageError('needs --admin URL (http://HOST:PORT or unix:PATH)');
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(tenant)) throw new UsageError(`'${tenant.slice(0, 64)}' is not a tenant id`);
  const timeoutMs = adminTimeout(args);
  const res = await adminCall(admin, `/tenants/${tenant}/rollback`, adminToken(io), undefined, timeoutMs);
  return reportAdmin(io, 'rollback', res, args.switches.has('json'), (b) => `${tenant} rolled back to ${String(b.digest)} (from ${String(b.previous)})`);
}
