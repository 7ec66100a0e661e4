// What a finished run leaves behind besides its answer: metrics, the
// tenant's stats, audit entries for denials and traps, its stderr in the log,
// and the strike count that moves a misbehaving tenant to process isolation.

import type { SandboxResult } from '../sandbox/sandbox.js';
import type { ServeLog } from './log.js';
import type { ServeMetrics } from './metrics.js';
import type { Tenant } from './tenant.js';

export function accountRun(m: ServeMetrics, log: ServeLog, isolateAfter: number, tenant: Tenant, result: SandboxResult, digest: string, requestId: string): void {
  const labels = { tenant: tenant.id };
  if (result.fuelUsed !== null) { m.fuel.inc(labels, result.fuelUsed); tenant.stats.fuelUsed += result.fuelUsed; }
  for (const limit of result.limitsHit) {
    m.limitHits.inc({ tenant: tenant.id, limit });
    tenant.stats.limitHits[limit] = (tenant.stats.limitHits[limit] ?? 0) + 1;
  }
  if (result.deniedCount > 0) {
    m.denied.inc(labels, result.deniedCount);
    tenant.stats.denied += result.deniedCount;
    log.audit({ event: 'denied', tenant: tenant.id, request_id: requestId, digest, count: result.deniedCount, first: result.denied.slice(0, 10) });
  }
  if (result.trap) {
    m.traps.inc({ tenant: tenant.id, kind: result.trap.kind });
    tenant.stats.traps[result.trap.kind] = (tenant.stats.traps[result.trap.kind] ?? 0) + 1;
    log.audit({ event: 'trap', tenant: tenant.id, request_id: requestId, digest, trap: result.trap.kind, message: result.trap.message.slice(0, 300) });
    // The pool kills the isolate of a run that reached its deadline, or that crashed, and puts a spare in its place.
    if (result.trap.kind === 'deadline' || /^the isolate failed/.test(result.trap.message)) {
      m.replacements.inc(labels);
      tenant.stats.replacements++;
    }
  }
  log.tenantStderr(tenant.id, requestId, result.stderr);
  const limitEnding = result.trap?.kind === 'deadline' || result.trap?.kind === 'fuel';
  if (tenant.strike(limitEnding, isolateAfter)) {
    m.isolations.inc(labels);
    log.audit({ event: 'isolated', tenant: tenant.id, request_id: requestId, reason: `its runs ending by deadline or fuel reached ${isolateAfter}, net of its other runs (each takes back a third of one)`, isolation: 'process' });
  }
}
