// A worker thread that prepares one module (prepare.ts's `prepare`) and
// answers with the rewritten bytes, transferred rather than copied, or with
// the admission's refusal. prepareAsync starts one per large module, so a
// long decode never blocks the embedder's event loop.

import { parentPort, workerData } from 'node:worker_threads';
import { AdmissionError, prepare } from './prepare.js';
import type { Policy } from '../policy/policy.js';

export interface PrepareRequest {
  bytes: Uint8Array;
  policy: Policy;
}

export type PrepareReply =
  | { ok: true; bytes: Uint8Array; metered: boolean; digest: string }
  | { ok: false; admission: true; violations: AdmissionError['violations'] }
  | { ok: false; admission: false; message: string };

const { bytes, policy } = workerData as PrepareRequest;
let reply: PrepareReply;
const transfer: ArrayBuffer[] = [];
try {
  const prepared = prepare(bytes, policy);
  reply = { ok: true, bytes: prepared.bytes, metered: prepared.metered, digest: prepared.digest };
  transfer.push(prepared.bytes.buffer as ArrayBuffer);
} catch (error) {
  reply = error instanceof AdmissionError
    ? { ok: false, admission: true, violations: error.violations }
    : { ok: false, admission: false, message: error instanceof Error ? error.message : String(error) };
}
parentPort!.postMessage(reply, transfer);
