// A plugin session's worker: one module, one instance kept between calls
// (warm-instance.ts), calls taken from shared memory (plugin-call-wire.ts).
// Stdio, counters, denials and closures' calls go through the same channel as
// a pool worker's, so a worker terminated at a call's deadline leaves that
// call's record on the host side.

import { workerData, type MessagePort } from 'node:worker_threads';
import { createWasiHost, RunRefused } from '../wasi/run.js';
import { IsolateChannel } from './channel.js';
import { loadPlannedBodies } from './host-functions.js';
import { WorkerWire } from './plugin-call-wire.js';
import { WarmInstance, type WarmSpec } from './warm-instance.js';

const data = workerData as { sab: SharedArrayBuffer; port: MessagePort; wire: SharedArrayBuffer; side: MessagePort; spec: Omit<WarmSpec, 'watchdog'> };
const channel = new IsolateChannel(data.sab, data.port);
const wire = new WorkerWire(data.wire, data.side);

async function main(): Promise<void> {
  let warm: WarmInstance | null = null;
  let failure: { message: string; refused: boolean } | null = null;
  try {
    const bodies = await loadPlannedBodies(data.spec.plan, new Map());
    warm = new WarmInstance({ ...data.spec, watchdog: false }, createWasiHost(), channel, bodies);
  } catch (error) {
    failure = { message: error instanceof Error ? error.message : String(error), refused: error instanceof RunRefused };
  }
  // From here the worker only waits for calls and runs them; the host terminates it.
  wire.ready();
  for (;;) {
    const call = wire.next();
    if (!warm) {
      wire.fail(failure!.message, failure!.refused);
      continue;
    }
    try {
      wire.answer(warm.call(call.name, call.wantsResult ? ['i32'] : [], call.input));
    } catch (error) {
      wire.fail(error instanceof Error ? error.message : String(error), error instanceof RunRefused);
    }
  }
}

void main();
