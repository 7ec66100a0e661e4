// The worker thread behind prepareAsync: prepares modules (prepare.ts's
// `prepareOverlapped`) and answers each with the rewritten bytes,
// transferred rather than copied, or with the admission's refusal. One worker
// serves a process and stays warm, so its decoder runs optimised code.

import { parentPort } from 'node:worker_threads';
import { AdmissionError, prepareOverlapped, type Prepared } from './prepare.js';
import type { PrepareConfig } from './prepare-config.js';

export interface PrepareRequest {
  id: number;
  bytes: Uint8Array;
  /** All the policy prepare reads (prepare-config.ts). */
  config: PrepareConfig;
  /** The bytes' digest, when the caller has it already. */
  digest?: string;
}

export type PrepareReply =
  | ({ ok: true; bytes: Uint8Array; metered: boolean; digest?: string; injected: Prepared['injected']; guards: Prepared['guards']; writeGuarded: Prepared['writeGuarded'] } & Pick<Prepared, 'exports' | 'stubs' | 'imported' | 'usesKernel'>)
  | { ok: false; admission: true; violations: AdmissionError['violations'] }
  | { ok: false; admission: false; message: string };

parentPort!.on('message', async ({ id, bytes, config, digest }: PrepareRequest) => {
  let reply: PrepareReply;
  const transfer: ArrayBuffer[] = [];
  try {
    // V8 checks the bytes on its background threads while this thread walks them.
    const prepared = await prepareOverlapped(bytes, config, digest);
    reply = {
      // The digest only when the caller sent it: hashing a 31 MB module here for nobody cost about 30 ms.
      ok: true, bytes: prepared.bytes, metered: prepared.metered, ...(digest ? { digest } : {}), injected: prepared.injected, guards: prepared.guards, writeGuarded: prepared.writeGuarded,
      exports: prepared.exports, stubs: prepared.stubs, imported: prepared.imported, usesKernel: prepared.usesKernel,
    };
    // The bytes are this worker's copy or the rewrite's output: either way no one here needs them again.
    transfer.push(prepared.bytes.buffer as ArrayBuffer);
  } catch (error) {
    reply = error instanceof AdmissionError
      ? { ok: false, admission: true, violations: error.violations }
      : { ok: false, admission: false, message: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage({ id, reply }, transfer);
});
