// A child process that runs jobs for one trust domain. Compiled modules cannot
// cross a process boundary (V8 has no cross-process code cache), so the
// module's bytes come with the first job that uses them and are compiled
// here once per digest.
//
// The guest runs on this process's main thread under a V8 watchdog armed for
// its deadline, with stdio over non-blocking descriptors: at the deadline the
// child stops the guest and reports the run itself, record complete. The
// parent SIGKILLs a child that has not answered shortly after the deadline.

import { createWasiHost, RunRefused } from '../wasi/run.js';
import { execute } from './execute.js';
import type { GrantSpec } from '../wasi/grant.js';
import type { RunEntry } from '../wasi/run.js';
import { loadPlannedBodies, type HostFunctionBody, type LinkPlan } from './host-functions.js';
import type { KernelSpec } from '../plugin/extism-kernel.js';
import type { TrapKind } from '../wasi/trap.js';

interface ProcessJob {
  digest: string;
  bytes?: Uint8Array;
  grant: GrantSpec;
  fuel: number | null;
  entry?: RunEntry;
  plan?: LinkPlan;
  kernel?: KernelSpec;
  guards?: Array<[number, TrapKind]>;
}

const compiled = new Map<string, WebAssembly.Module>();
const host = createWasiHost();

/** The grant with its deadline counted from when the parent sent the job (the parent's timer starts there). */
function fromSending(grant: GrantSpec, sentAt: number | undefined): GrantSpec {
  const timeoutMs = grant.limits.timeoutMs;
  if (timeoutMs === null || typeof sentAt !== 'number') return grant;
  const elapsed = Math.max(0, performance.timeOrigin + performance.now() - sentAt);
  return { ...grant, limits: { ...grant.limits, timeoutMs: Math.max(1, timeoutMs - elapsed) } };
}

// Host function modules this child has loaded, by path and export.
const loaded = new Map<string, Promise<HostFunctionBody>>();

process.on('message', async (message: { id: number; job: ProcessJob; sentAt?: number }) => {
  const { id, job } = message;
  try {
    const bodies = await loadPlannedBodies(job.plan, loaded);
    let module = compiled.get(job.digest);
    if (!module) {
      if (!job.bytes) throw new Error('module bytes missing');
      module = new WebAssembly.Module(job.bytes);
      compiled.set(job.digest, module);
    }
    process.send!({ id, result: { ok: true, value: execute({ module, grant: fromSending(job.grant, message.sentAt), fuel: job.fuel, watchdog: true, ...(job.guards ? { guards: job.guards } : {}), ...(job.entry ? { entry: job.entry } : {}), ...(job.plan ? { plan: job.plan } : {}), ...(job.kernel ? { kernel: job.kernel } : {}) }, host, undefined, bodies) } });
  } catch (error) {
    process.send!({ id, result: { ok: false, refused: error instanceof RunRefused, message: error instanceof Error ? error.message : String(error) } });
  }
});
process.send!({ ready: true });
