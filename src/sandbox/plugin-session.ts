// A plugin session: one module's calls served by one instance kept in one
// isolate (sandbox.plugin(), docs/plugins.md "Warm sessions").
//
//  - thread isolation: a worker of the session's own holds the instance;
//    each call crosses through shared memory (plugin-call-wire.ts) and its
//    stdio, counters and closures through the channel a pool worker uses. A
//    call past its deadline terminates the worker: the next call starts a new
//    one (variables as the host last saw them).
//  - none: the instance lives on this thread; each call runs under a V8
//    watchdog armed for its deadline.
// Calls on one session run one at a time, in the order they were made.
// What carries over between calls is warm-instance.ts's to say.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { GrantSpec } from '../wasi/grant.js';
import { createWasiHost, RunRefused } from '../wasi/run.js';
import type { TrapKind } from '../wasi/trap.js';
import { createChannelMemory, HostChannel, type ChannelMessage } from './channel.js';
import type { SandboxResult } from './execute.js';
import { closureHandler, remoteView, type HostFunctionGrant, type LinkPlan } from './host-functions.js';
import type { LocalBodies } from './link.js';
import { createWire, HostWire, REPLY_SPIN_US, type WireReply } from './plugin-call-wire.js';
import { WarmInstance, type InstancePolicy, type WarmResult, type WarmSpec } from './warm-instance.js';
import type { KernelOutcome, KernelSpec } from '../plugin/extism-kernel.js';
import { serveNetwork } from './plugin-network.js';

/** A plugin call's outcome: its output bytes, its error (error_set), its status (null when it did not return), its logs. */
export type PluginOutcome = Omit<KernelOutcome, 'vars'> & { rc: number | null };

export type PluginCallResult = SandboxResult & { plugin: PluginOutcome; instanceReused?: boolean };

export interface PluginSession {
  /** Calls a plugin function (Extism kernel ABI): as sandbox.callPlugin, on the session's instance. */
  call(name: string, input?: Uint8Array | string): Promise<PluginCallResult>;
  /** Instances made so far: one, plus one after each call that did not return (or one per call, with `fresh`). */
  readonly instances: number;
  /** Stops the session's worker; calls made afterwards are refused. */
  close(): Promise<void>;
}

export interface SessionSpec {
  isolation: 'none' | 'thread';
  instances: InstancePolicy;
  module: WebAssembly.Module;
  /** Whether the module imports WASI (else its calls skip WASI's per-call set-up). */
  wasi: boolean;
  grant: GrantSpec;
  fuel: number | null;
  guards: ReadonlyArray<readonly [number, TrapKind]>;
  /** Ranges its hardening keeps writes out of (flat [start, end) pairs). */
  writeGuarded: readonly number[];
  plan: LinkPlan;
  grants: readonly HostFunctionGrant[];
  /** Bodies callable on this thread (isolation "none"). */
  bodies: LocalBodies;
  kernel: Omit<KernelSpec, 'input' | 'vars'>;
  /** The variables as the sandbox keeps them for this module, read when an instance starts and written after each call that changed them. */
  vars: { get(): Array<[string, Uint8Array]>; set(vars: Array<[string, Uint8Array]>): void };
  /** Admits a call (the export exists and is a plugin function); returns whether it returns an i32 status. Throws a refusal. */
  admit(name: string): boolean;
  /** The record as the sandbox reports it (frames mapped back, unknown imports named). */
  finish(record: PluginCallResult): PluginCallResult;
  workerEntry: URL;
  stackSizeMb: number;
}

export class SessionClosedError extends Error {
  override name = 'SessionClosedError';
}

const utf8 = new TextEncoder();

export function openPluginSession(spec: SessionSpec): PluginSession {
  const serve = spec.isolation === 'none' ? inlineServer(spec) : threadServer(spec);
  // Calls run one at a time, in the order they were made: a call made while
  // others are pending waits behind the last of them; one made on an idle
  // session starts at once (and, answered within the worker's first
  // microseconds, completes without a turn of the event loop).
  let chain: Promise<unknown> = Promise.resolve();
  let pending = 0;
  let closed = false;
  // Exports admitted once (the module does not change): whether each returns an i32 status.
  const admitted = new Map<string, boolean>();
  const settle = (): void => { pending--; };
  const run = (name: string, data: Uint8Array): PluginCallResult | Promise<PluginCallResult> => {
    if (closed) throw new SessionClosedError('the plugin session is closed');
    let wantsResult = admitted.get(name);
    if (wantsResult === undefined) admitted.set(name, wantsResult = spec.admit(name));
    const record = serve.call(name, wantsResult, data);
    return record instanceof Promise ? record.then((r) => spec.finish(pluginRecord(r, spec))) : spec.finish(pluginRecord(record, spec));
  };
  return {
    call(name, input = new Uint8Array(0)) {
      if (typeof name !== 'string') return Promise.reject(new TypeError('call: the function name must be a string'));
      const data = typeof input === 'string' ? utf8.encode(input) : input;
      if (!(data instanceof Uint8Array)) return Promise.reject(new TypeError('call: input must be a Uint8Array or a string'));
      pending++;
      let next: Promise<PluginCallResult>;
      if (pending === 1) {
        try {
          const done = run(name, data);
          if (!(done instanceof Promise)) {
            pending--;
            return Promise.resolve(done);
          }
          next = done;
        } catch (error) {
          pending--;
          return Promise.reject(error);
        }
      } else {
        next = chain.then(() => run(name, data));
      }
      void next.then(settle, settle);
      chain = next.catch(() => {});
      return next;
    },
    get instances() { return serve.instances; },
    async close() {
      closed = true;
      await chain;
      await serve.close();
    },
  };
}

interface Server {
  /** Runs a call: its record at once when the call was answered before this returned, else a promise of it. */
  call(name: string, wantsResult: boolean, input: Uint8Array): WarmResult | Promise<WarmResult>;
  readonly instances: number;
  close(): Promise<void>;
}

/** The plugin outcome as the sandbox reports it; variables go back to the sandbox, not into the record. */
function pluginRecord(record: WarmResult, spec: SessionSpec): PluginCallResult {
  // Changed in place: this is every call's path.
  const plugin = record.plugin as WarmResult['plugin'] & { rc?: number | null };
  if (plugin.vars) spec.vars.set(plugin.vars);
  delete plugin.vars;
  plugin.rc = record.exitCode === 0 && record.results !== undefined ? Number(record.results[0] ?? 0) : null;
  return record as PluginCallResult;
}

function warmSpecOf(spec: SessionSpec, watchdog: boolean): WarmSpec {
  return {
    module: spec.module, grant: spec.grant, fuel: spec.fuel, guards: spec.guards, writeGuarded: spec.writeGuarded, plan: spec.plan,
    kernel: { ...spec.kernel, vars: spec.vars.get() }, instances: spec.instances, wasi: spec.wasi, watchdog,
  };
}

function inlineServer(spec: SessionSpec): Server {
  const warm = new WarmInstance(warmSpecOf(spec, true), createWasiHost(), undefined, spec.bodies);
  return {
    call: (name, wantsResult, input) => {
      const record = warm.call(name, wantsResult ? ['i32'] : [], input);
      record.isolation = 'none';
      return record;
    },
    get instances() { return warm.made; },
    close: async () => {},
  };
}

interface SessionWorker {
  worker: Worker;
  sab: SharedArrayBuffer;
  port: MessagePort;
  wire: HostWire;
  dead: boolean;
  /** Whether it has said it takes calls. */
  up: boolean;
  exited: Promise<void>;
}

function threadServer(spec: SessionSpec): Server {
  let current: SessionWorker | null = null;
  let channel: HostChannel | null = null;
  let instances = 0;
  const timeoutMs = spec.grant.limits.timeoutMs;
  const hosted = spec.plan.hosted.filter((h) => h.via === 'channel');
  const needsChannel = spec.wasi || hosted.length > 0 || spec.kernel.http !== undefined;
  // Host-call counts cross as numbers in the plan's order: hosted functions, then stubs.
  const labels = [...spec.plan.hosted.map((h) => `${h.module}.${h.name}`), ...spec.plan.stubs.map((s) => `${s.module}.${s.name}`)];

  function spawn(): SessionWorker {
    const sab = createChannelMemory();
    const wireMemory = createWire();
    const { port1, port2 } = new MessageChannel();
    const side = new MessageChannel();
    const { watchdog: _unused, ...warm } = warmSpecOf(spec, false);
    const worker = new Worker(spec.workerEntry, {
      // Guests never see the host's environment, and neither does the worker.
      env: {},
      workerData: { sab, port: port2, wire: wireMemory, side: side.port2, spec: warm },
      transferList: [port2, side.port2],
      resourceLimits: { stackSizeMb: spec.stackSizeMb },
    });
    worker.unref();
    port1.on('message', (message: ChannelMessage) => channel?.onMessage(message));
    port1.unref();
    side.port1.unref();
    const w: SessionWorker = {
      worker, sab, port: port1, wire: new HostWire(wireMemory, side.port1), dead: false, up: false,
      exited: new Promise<void>((resolve) => worker.once('exit', () => resolve())),
    };
    const died = () => { w.dead = true; w.wire.wake(); };
    worker.on('error', died);
    worker.on('exit', died);
    return w;
  }

  function stop(w: SessionWorker): void {
    w.dead = true;
    if (current === w) current = null;
    void w.worker.terminate();
    w.port.close();
    w.wire.wake();
  }

  function call(name: string, wantsResult: boolean, input: Uint8Array): WarmResult | Promise<WarmResult> {
    const w = current;
    return w && w.up ? callOn(w, name, wantsResult, input) : startThenCall(name, wantsResult, input);
  }

  async function startThenCall(name: string, wantsResult: boolean, input: Uint8Array): Promise<WarmResult> {
    if (!current) current = spawn();
    const w = current;
    if (!w.up) {
      // A new worker's start (tens of milliseconds) is not the call's: its deadline starts when the worker can take it.
      w.worker.ref();
      w.up = await w.wire.started(() => w.dead);
      w.worker.unref();
      if (!w.up) {
        if (current === w) current = null;
        throw new Error('the plugin session\'s worker failed to start');
      }
    }
    return callOn(w, name, wantsResult, input);
  }

  /**
   * One call on a started worker. A call that needs nothing of this thread
   * while it runs (no closures, no WASI stdio, no http_request) is watched
   * for a few microseconds first: answered within them, its record is built
   * at once, with no timer, promise or event-loop turn. Otherwise, or past
   * that watch, the call waits asynchronously under a timer for what is left
   * of its deadline, which terminates the worker.
   */
  function callOn(w: SessionWorker, name: string, wantsResult: boolean, input: Uint8Array): WarmResult | Promise<WarmResult> {
    const started = performance.now();
    // The channel carries a WASI module's stdio and counters and closures' calls; a call that uses neither needs none.
    const host = needsChannel ? new HostChannel(w.sab, { stdin: spec.grant.stdin, stdout: spec.grant.stdout, stderr: spec.grant.stderr }) : null;
    let seq: number;
    try {
      channel = host;
      if (host && hosted.length > 0) {
        const view = remoteView(host.remoteMemory(timeoutMs === null ? null : started + timeoutMs));
        for (const h of hosted) host.handle(`host:${h.index}`, closureHandler(spec.grants[h.index]!, view));
      }
      if (host) serveNetwork(host, spec.kernel, timeoutMs === null ? null : started + timeoutMs);
      seq = w.wire.send(name, wantsResult, input);
    } catch (error) {
      endCall(host);
      throw error;
    }
    if (!needsChannel && w.wire.answeredWithin(seq, REPLY_SPIN_US)) {
      try {
        return answeredRecord(w, host, wantsResult);
      } finally {
        endCall(host);
      }
    }
    return awaitAnswer(w, host, seq, wantsResult, started);
  }

  async function awaitAnswer(w: SessionWorker, host: HostChannel | null, seq: number, wantsResult: boolean, started: number): Promise<WarmResult> {
    let timedOut = false;
    let timer: NodeJS.Timeout | null = null;
    try {
      // The call keeps this process alive (an idle session's worker does not): its deadline timer does, or else the worker.
      // The deadline counts from the send: the time spent watching for the reply is the call's.
      if (timeoutMs !== null) timer = setTimeout(() => { timedOut = true; stop(w); }, Math.max(0, timeoutMs - (performance.now() - started)));
      else w.worker.ref();
      const answered = await w.wire.answered(seq, () => timedOut || w.dead);
      if (timer) clearTimeout(timer);
      else if (!w.dead) w.worker.unref();
      if (!answered) return stoppedRecord(host, timedOut, performance.now() - started);
      const record = answeredRecord(w, host, wantsResult);
      if (host && record.usage.outputBytes > 0) {
        await drained(host, timeoutMs === null ? null : timeoutMs - (performance.now() - started));
        record.stdout = host.captured(1);
        record.stderr = host.captured(2);
      }
      return record;
    } finally {
      if (timer) clearTimeout(timer);
      endCall(host);
    }
  }

  /** The record of a call the worker answered. */
  function answeredRecord(w: SessionWorker, host: HostChannel | null, wantsResult: boolean): WarmResult {
    // Output posted before the reply, and a captured stream's last chunk still in shared memory: taken now, so the record holds all of it.
    host?.drainPort(w.port);
    host?.takeGathered();
    const record = recordOf(w.wire.reply(), host, wantsResult);
    // Inherited output still being written is waited for by the caller (awaitAnswer) before the captures are read.
    if (host && record.usage.outputBytes === 0) {
      record.stdout = host.captured(1);
      record.stderr = host.captured(2);
    }
    if (!record.instanceReused) instances++;
    record.isolation = 'thread';
    return record;
  }

  function endCall(host: HostChannel | null): void {
    host?.end();
    channel = null;
  }

  /** A plain reply as a whole record (hostCalls in the plan's order, as the worker counted them). */
  function recordOf(reply: WireReply, host: HostChannel | null, wantsResult: boolean): WarmResult {
    if (reply.kind === 'failed') {
      if (reply.refused) throw new RunRefused(reply.message);
      throw new Error(reply.message);
    }
    if (reply.kind === 'full') return reply.record;
    const snap = host?.snapshot();
    const record: WarmResult = {
      exitCode: 0, trap: null, stdout: new Uint8Array(0), stderr: new Uint8Array(0), limitsHit: [], denied: [], deniedCount: 0,
      results: wantsResult ? [reply.rc ?? 0] : [], fuelUsed: reply.fuelUsed,
      usage: { wallMs: reply.wallMs, bytesWritten: snap?.usage.bytesWritten ?? 0, filesCreated: snap?.usage.filesCreated ?? 0, outputBytes: 0, peakMemoryBytes: reply.peakMemoryBytes },
      plugin: { output: reply.output, error: reply.error, logs: [], logsDropped: 0, memoryBytes: reply.memoryBytes },
      instanceReused: reply.reused,
    };
    if (labels.length > 0) {
      record.hostCalls = {};
      labels.forEach((label, i) => { record.hostCalls![label] = reply.counts[i] ?? 0; });
    }
    return record;
  }

  return {
    call,
    get instances() { return instances; },
    close: async () => {
      const w = current;
      if (!w) return;
      stop(w);
      await w.exited;
    },
  };
}

/** What a call stopped at its deadline (or by a crash of its worker) leaves: the channel's counters, output and denials. */
function stoppedRecord(host: HostChannel | null, timedOut: boolean, wallMs: number): WarmResult {
  const snap = host?.snapshot() ?? { stdout: new Uint8Array(0), stderr: new Uint8Array(0), limitsHit: [], denied: [], deniedCount: 0, usage: { bytesWritten: 0, filesCreated: 0, outputBytes: 0, peakMemoryBytes: 0 } };
  return {
    exitCode: null,
    trap: timedOut ? { kind: 'deadline', message: 'the run reached its deadline' } : { kind: 'other', message: 'the plugin session\'s worker failed' },
    stdout: snap.stdout, stderr: snap.stderr,
    limitsHit: [...new Set([...snap.limitsHit, ...(timedOut ? ['timeout'] : [])])],
    denied: snap.denied, deniedCount: snap.deniedCount, fuelUsed: null,
    usage: { wallMs, ...snap.usage },
    plugin: { output: new Uint8Array(0), error: null, logs: [], logsDropped: 0, memoryBytes: 0 },
    instanceReused: false,
    isolation: 'thread',
  };
}

/** Waits until inherited output is written, at most `ms` (null: no bound). */
async function drained(host: HostChannel, ms: number | null): Promise<void> {
  if (ms === null) return host.drained();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([host.drained(), new Promise<void>((resolve) => { timer = setTimeout(resolve, Math.max(0, ms)); })]);
  clearTimeout(timer);
}
