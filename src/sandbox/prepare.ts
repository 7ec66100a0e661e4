// From module bytes to what an isolate runs: digest, decode, admission
// against the policy, then limits and metering rewritten into the bytes.
// Admission sees the module as its author shipped it; rewriting comes after.

import { createHash } from 'node:crypto';
import { decodeModule } from '../binary/decode.js';
import { WasmDecodeError } from '../binary/errors.js';
import type { Policy } from '../policy/policy.js';
import { prepareModule } from '../transform/index.js';
import { admit, type Violation } from './admission.js';

export interface Prepared {
  digest: string;
  /** The rewritten bytes (limits, fuel); the input when nothing needed rewriting. */
  bytes: Uint8Array;
  metered: boolean;
}

/** The module was refused before any of its code ran. */
export class AdmissionError extends Error {
  override name = 'AdmissionError';
  constructor(readonly digest: string, readonly violations: readonly Violation[]) {
    super(`refused: ${violations.map((v) => `${v.rule} (${v.message})`).join('; ')}`);
  }
}

export function digestOf(bytes: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

export function prepare(bytes: Uint8Array, policy: Policy): Prepared {
  const digest = digestOf(bytes);
  let module;
  try {
    module = decodeModule(bytes, { limits: { maxModuleBytes: policy.limits.moduleBytes } });
  } catch (error) {
    if (error instanceof WasmDecodeError) throw new AdmissionError(digest, [{ rule: 'malformed', message: error.message, offset: error.offset }]);
    throw error;
  }
  const verdict = admit(module, policy, digest);
  if (!verdict.admitted) throw new AdmissionError(digest, verdict.violations);
  const metered = policy.limits.fuel !== null;
  return {
    digest,
    bytes: prepareModule(module, { memoryBytes: policy.limits.memory, tableElements: policy.limits.tableElements, fuel: metered }),
    metered,
  };
}
