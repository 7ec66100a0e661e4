// A child process that runs jobs for one trust domain. Compiled modules cannot
// cross a process boundary (V8 has no cross-process code cache), so the
// module's bytes come with the first job that uses them and are compiled
// here once per digest.
//
// The guest runs on this process's main thread under a V8 watchdog armed for
// its deadline, with stdio over non-blocking descriptors: at the deadline the
// child stops the guest and reports the run itself, record complete. The
// parent SIGKILLs a child that has not answered shortly after the deadline.
//
// Closures (host functions on the embedder's thread), when the sandbox grants
// them: the guest's thread posts each call to a relay thread here through a
// channel's shared memory and waits with Atomics.wait, never past its
// deadline, exactly as a worker isolate waits for the embedder; the relay
// carries the call to the parent over a socket (closure-relay-child.ts).

import { MessageChannel, Worker } from 'node:worker_threads';
import { createWasiHost, RunRefused } from '../wasi/run.js';
import { createChannelMemory, IsolateChannel } from './channel.js';
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
  writeGuarded?: number[];
  /** Tags this run's closure calls (closure-relay-parent.ts refuses calls tagged with another run). */
  closureRun?: number;
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

// Closures' calls, when the sandbox grants closures: the channel to the relay thread, and the run's deadline it reads.
let closureCalls: IsolateChannel | undefined;
const relayDeadline = new Float64Array(new SharedArrayBuffer(8));
const relayRun = new Int32Array(new SharedArrayBuffer(4));

interface RelayStart { entry: string; socket: string; token: Uint8Array; functions: number }

/** Starts the relay thread; the child is ready once it has reached the parent's. */
function startRelay(relay: RelayStart): void {
  const sab = createChannelMemory();
  const worker = new Worker(relay.entry, { env: {}, workerData: { sab, deadline: relayDeadline, run: relayRun, socket: relay.socket, token: relay.token, functions: relay.functions } });
  worker.unref();
  // Ready once it has reached the parent. Without its relay the child could only make its
  // guests wait out their deadlines: it exits instead, and the pool replaces it.
  worker.on('message', (message) => {
    if (message === 'up') process.send!({ ready: true });
    else process.exit(70);
  });
  worker.on('error', () => process.exit(70));
  worker.on('exit', () => process.exit(70));
  // The channel's port is never posted to: only calls cross it (arm, callWith), stdio stays on this process's descriptors.
  const { port1 } = new MessageChannel();
  port1.unref();
  closureCalls = new IsolateChannel(sab, port1);
  closureCalls.arm(() => host.ctx.checkDeadline(), () => host.ctx.msUntilDeadline());
}

process.on('message', async (message: { id: number; job: ProcessJob; sentAt?: number; relay?: RelayStart }) => {
  if (message.relay) {
    if (!closureCalls) startRelay(message.relay);
    return;
  }
  const { id, job } = message;
  try {
    const bodies = await loadPlannedBodies(job.plan, loaded);
    let module = compiled.get(job.digest);
    if (!module) {
      if (!job.bytes) throw new Error('module bytes missing');
      module = new WebAssembly.Module(job.bytes);
      compiled.set(job.digest, module);
    }
    const grant = fromSending(job.grant, message.sentAt);
    // The relay tags this run's calls with the parent's tag for it, and serves the parent's
    // memory requests no later than the deadline (the guest has given up by then).
    Atomics.store(relayRun, 0, job.closureRun ?? 0);
    relayDeadline[0] = grant.limits.timeoutMs === null ? Infinity : performance.timeOrigin + performance.now() + grant.limits.timeoutMs;
    process.send!({ id, result: { ok: true, value: execute({ module, grant, fuel: job.fuel, watchdog: true, ...(job.guards ? { guards: job.guards } : {}), ...(job.writeGuarded ? { writeGuarded: job.writeGuarded } : {}), ...(job.entry ? { entry: job.entry } : {}), ...(job.plan ? { plan: job.plan } : {}), ...(job.kernel ? { kernel: job.kernel } : {}) }, host, undefined, bodies, closureCalls) } });
  } catch (error) {
    process.send!({ id, result: { ok: false, refused: error instanceof RunRefused, message: error instanceof Error ? error.message : String(error) } });
  }
});
// A child that serves closures is ready when its relay is (the parent sends where to reach it).
if (!process.argv.includes('--closures')) process.send!({ ready: true });
