// The two kinds of isolate a sandbox runs guests in, behind one small shape:
// a worker thread (cheap, shares the process), or a child process started
// under Node's permission model (a separate address space per trust domain).

import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { createChannelMemory, ringJobBell } from './channel.js';
import { JobEncoder } from './job-wire.js';

export interface Isolate extends EventEmitter {
  readonly kind: 'thread' | 'process';
  /** Resolves when the isolate can take work. */
  readonly ready: Promise<void>;
  /** Whether `ready` has resolved (a run is then handed over without waiting a turn). */
  readonly started: boolean;
  /** Resolves when the isolate has really exited (its thread joined, its process reaped). */
  readonly exited: Promise<void>;
  send(message: unknown): void;
  /** Stops it: terminates a worker (V8 may take its time), SIGKILLs a process. */
  kill(): void;
  /** Keeps the host process alive while a run is in progress (idle isolates never do). */
  hold(busy: boolean): void;
  /** Thread isolates: the channel's shared memory and the host's port. */
  readonly channel?: { sab: SharedArrayBuffer; port: MessagePort };
  /**
   * Process isolates that serve closures: the channel memory their relay thread posts the
   * child's calls to, and the run whose calls it takes (a call tagged with another run,
   * sent as an earlier run met its deadline, is refused).
   */
  readonly closureChannel?: { sab: SharedArrayBuffer; run: Int32Array };
}

export function workerIsolate(entry: URL, options: { stackSizeMb?: number; jobWatchUs?: number }): Isolate {
  const sab = createChannelMemory();
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(entry, {
    // Guests never see the host's environment, and neither does the worker.
    env: {},
    // jobWatchUs: how long the idle worker watches its job bell before it sleeps (channel.ts, JobBell).
    workerData: { sab, port: port2, ...(options.jobWatchUs !== undefined ? { jobWatchUs: options.jobWatchUs } : {}) },
    transferList: [port2],
    resourceLimits: options.stackSizeMb ? { stackSizeMb: options.stackSizeMb } : undefined,
  });
  worker.unref();
  port1.unref();
  const emitter = new EventEmitter();
  const jobs = new JobEncoder();
  let started = false;
  let up: () => void = () => {};
  // Ready when the worker's entry has loaded and waits for jobs (it says so on
  // the channel), not at 'online': a run's deadline never counts the worker's
  // own start-up.
  const ready = new Promise<void>((resolve, reject) => {
    up = () => { started = true; resolve(); };
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the worker exited with code ${code} before it was ready`)));
  });
  port1.on('message', (message) => {
    if (!started && (message as { t?: string })?.t === 'up') return up();
    emitter.emit('message', message);
  });
  ready.catch(() => {});
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', (error) => emitter.emit('error', error));
  worker.on('exit', (code) => emitter.emit('exit', code));
  // A getter (Object.assign would copy its value once).
  Object.defineProperty(emitter, 'started', { get: () => started });
  return Object.assign(emitter as EventEmitter & { readonly started: boolean }, {
    kind: 'thread' as const,
    ready,
    exited,
    channel: { sab, port: port1 },
    send: (message: unknown) => {
      // Only what changed since this worker's last job crosses (job-wire.ts).
      const wire = jobs.encode(message);
      worker.postMessage(wire);
      jobs.sent(wire);
      // The worker waits on the bell, not in its event loop (worker-entry.ts).
      ringJobBell(sab);
    },
    kill: () => { port1.unref(); void worker.terminate(); },
    hold: (busy: boolean) => {
      if (busy) { worker.ref(); port1.ref(); } else { worker.unref(); port1.unref(); }
    },
  });
}

export interface ProcessOptions {
  /** Host paths the child may read (its own code is added). */
  readPaths: readonly string[];
  /** Host paths the child may write. */
  writePaths: readonly string[];
  /** Whether anything is mounted writable (scratch space included). */
  writable: boolean;
  /** Directory holding the compiled package, which the child must read to start. */
  codeDir: string;
  /** The sandbox grants closures: a relay thread on each side carries their calls (closure-relay-*.ts). */
  closures?: { parentRelay: URL; childRelay: string; functions: number };
}

/**
 * A child process restricted by Node's permission model to the paths its
 * trust domain mounts. Defence in depth only: the model follows symlinks out
 * of allowed directories, so the WASI layer's own resolution stays the
 * boundary (SECURITY.md).
 */
export function processIsolate(entry: string, options: ProcessOptions): Isolate {
  // Each path once: Node 20's permission model aborts the child (a failed assertion) on a path given twice.
  const read = [...new Set([options.codeDir, ...options.readPaths, ...options.writePaths, '/proc/self/fd/*', '/dev/shm/*'])];
  // stdout and stderr are reopened non-blocking through /proc/self/fd (wasi/endpoint.ts).
  const write = [...new Set(['/proc/self/fd/1', '/proc/self/fd/2', ...(options.writable ? [...options.writePaths, '/dev/shm/*', '/proc/self/fd/*'] : [])])];
  const child = fork(entry, options.closures ? ['--closures'] : [], {
    env: {},
    serialization: 'advanced',
    execArgv: [
      '--experimental-permission',
      '--no-warnings',
      ...read.map((p) => `--allow-fs-read=${p}`),
      // Writable mounts are reached through /proc/self/fd/<dirfd>/<name> (see wasi/fs/walk.ts).
      ...write.map((p) => `--allow-fs-write=${p}`),
      // Its closure relay is a worker thread (only a sandbox granting closures starts one).
      ...(options.closures ? ['--allow-worker'] : []),
    ],
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  const emitter = new EventEmitter();
  // A broken relay fails the run in progress (the pool listens for errors during a run, and
  // replaces the child); an idle child is killed instead, since an 'error' nobody listens
  // for would be thrown on this thread.
  const relayFailed = (error: Error): void => {
    if (emitter.listenerCount('error') > 0) emitter.emit('error', error);
    else child.kill('SIGKILL');
  };
  const relay = options.closures ? closureRelay(options.closures, (message) => child.send(message as never), relayFailed) : null;
  let started = false;
  const ready = new Promise<void>((resolve, reject) => {
    relay?.ready.catch(reject);
    const onFirst = (message: { ready?: boolean }) => {
      if (message?.ready) {
        child.off('message', onFirst);
        // With closures, ready when the parent's relay has heard the child's too.
        void (relay?.ready ?? Promise.resolve()).then(() => { started = true; resolve(); }, reject);
      }
    };
    child.on('message', onFirst);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  ready.catch(() => {});
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => relay?.stop());
  child.on('message', (message: { ready?: boolean }) => { if (!message?.ready) emitter.emit('message', message); });
  child.on('error', (error) => emitter.emit('error', error));
  child.on('exit', (code) => emitter.emit('exit', code ?? -1));
  child.unref();
  child.channel?.unref();
  Object.defineProperty(emitter, 'started', { get: () => started });
  return Object.assign(emitter as EventEmitter & { readonly started: boolean }, {
    kind: 'process' as const,
    ready,
    exited,
    ...(relay ? { closureChannel: { sab: relay.sab, run: relay.run } } : {}),
    send: (message: unknown) => { child.send(message as never); },
    kill: () => { child.kill('SIGKILL'); relay?.stop(); },
    hold: (busy: boolean) => {
      if (busy) { child.ref(); child.channel?.ref(); } else { child.unref(); child.channel?.unref(); }
    },
  });
}

/**
 * The parent's relay thread for one child's closures: it listens on an
 * abstract Unix socket (no file to clean up) under a random name, and the
 * child's relay must present a random token before anything it sends is
 * heard. Both are handed to the child over its IPC channel once the socket
 * listens, never on its command line (which other users can read).
 */
function closureRelay(
  options: NonNullable<ProcessOptions['closures']>,
  tellChild: (message: unknown) => void,
  onError: (error: Error) => void,
): { sab: SharedArrayBuffer; run: Int32Array; ready: Promise<void>; stop(): void } {
  const sab = createChannelMemory();
  const run = new Int32Array(new SharedArrayBuffer(4));
  // Web Crypto (a global) rather than node:crypto, which a one-shot CLI run otherwise never loads.
  const socket = `\0wasm-warden-${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex')}`;
  const token = crypto.getRandomValues(new Uint8Array(32));
  const worker = new Worker(options.parentRelay, { env: {}, workerData: { sab, run, socket, token } });
  worker.unref();
  let stopped = false;
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: { t?: string; reason?: string }) => {
      if (message?.t === 'listening') tellChild({ relay: { entry: options.childRelay, socket, token, functions: options.functions } });
      else if (message?.t === 'connected') resolve();
      // A malformed frame from the child: the run in progress fails, and the pool replaces the child.
      else if (message?.t === 'broken') onError(new Error(`its closure relay sent a malformed frame (${String(message.reason).slice(0, 200)})`));
    });
    worker.once('error', (error) => { reject(error); if (!stopped) onError(error); });
    worker.once('exit', () => reject(new Error('the closure relay exited')));
  });
  ready.catch(() => {});
  return { sab, run, ready, stop: () => { if (!stopped) { stopped = true; void worker.terminate(); } } };
}
