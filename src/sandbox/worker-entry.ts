// A pool worker: runs one job at a time and answers with its result.

import { parentPort } from 'node:worker_threads';
import { createWasiHost, RunRefused } from '../wasi/run.js';
import { execute, type Job } from './execute.js';

// One host per worker: this worker runs one guest at a time, and each run resets it.
const host = createWasiHost();

parentPort!.on('message', ({ id, job }: { id: number; job: Job }) => {
  try {
    parentPort!.postMessage({ id, result: { ok: true, value: execute(job, host) } });
  } catch (error) {
    const refused = error instanceof RunRefused;
    parentPort!.postMessage({ id, result: { ok: false, refused, message: error instanceof Error ? error.message : String(error) } });
  }
});
