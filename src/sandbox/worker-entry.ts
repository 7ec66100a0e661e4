// A pool worker: runs one job at a time and answers with its result. Stdio,
// counters and denials go to the host through the channel it was started
// with (workerData), and so does the result, after everything it wrote.
//
// Between jobs the worker waits on the channel's job bell (Atomics.wait),
// not in its event loop: the host rings it after posting a job, and the job
// is taken from the port synchronously. This saves the event loop's wake-up
// and dispatch on every run (docs/RATIONALE.md). The wait is ended by
// worker.terminate(); the event loop runs only while a job awaits the
// loading of host function modules.

import { workerData, parentPort, type MessagePort } from 'node:worker_threads';
import { createWasiHost, RunRefused } from '../wasi/run.js';
import { IsolateChannel, JobBell, type ResultMessage } from './channel.js';
import { execute } from './execute.js';
import { loadPlannedBodies, type HostFunctionBody } from './host-functions.js';
import { JobDecoder } from './job-wire.js';

const { sab, port, jobWatchUs } = workerData as { sab: SharedArrayBuffer; port: MessagePort; jobWatchUs?: number };
const channel = new IsolateChannel(sab, port);
// One host per worker: this worker runs one guest at a time, and each run resets it.
const host = createWasiHost();

// Host function modules this worker has loaded, by path and export: loaded once, called directly.
const loaded = new Map<string, Promise<HostFunctionBody>>();
const NO_BODIES: ReadonlyMap<number, HostFunctionBody> = new Map();
// Jobs cross without the module and grant base this worker already holds (job-wire.ts).
const jobs = new JobDecoder();
const bell = new JobBell(sab, parentPort as unknown as MessagePort, jobWatchUs);

async function serve(): Promise<never> {
  for (;;) {
    const { id, job } = jobs.decode(bell.next<unknown>());
    let result: ResultMessage['result'];
    try {
      // Only a run that links host function modules waits for them (on the event loop); the others start at once.
      const bodies = job.plan?.hosted.some((h) => h.via === 'loaded') ? await loadPlannedBodies(job.plan, loaded) : NO_BODIES;
      result = { ok: true, value: execute(job, host, channel, bodies) };
    } catch (error) {
      const refused = error instanceof RunRefused;
      result = { ok: false, refused, message: error instanceof Error ? error.message : String(error) };
    }
    channel.postResult({ id, result });
  }
}

// Started after this module has finished loading; the host counts the worker ready from here.
setImmediate(() => {
  port.postMessage({ t: 'up' });
  void serve();
});
