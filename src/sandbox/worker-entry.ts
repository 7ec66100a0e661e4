// A pool worker: runs one job at a time and answers with its result.

import { parentPort } from 'node:worker_threads';
import { RunRefused } from '../wasi/run.js';
import { execute, type Job } from './execute.js';

parentPort!.on('message', ({ id, job }: { id: number; job: Job }) => {
  try {
    parentPort!.postMessage({ id, result: { ok: true, value: execute(job) } });
  } catch (error) {
    const refused = error instanceof RunRefused;
    parentPort!.postMessage({ id, result: { ok: false, refused, message: error instanceof Error ? error.message : String(error) } });
  }
});
