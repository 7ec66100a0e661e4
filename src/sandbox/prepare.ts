// From module bytes to what an isolate runs: digest, decode, admission
// against the policy, then limits and metering rewritten into the bytes.
// Admission sees the module as its author shipped it; rewriting comes after.

import { createRequire } from 'node:module';
import { decodeModule } from '../binary/decode.js';
import { WasmDecodeError } from '../binary/errors.js';
import type { Policy } from '../policy/policy.js';
import { prepareModule } from '../transform/index.js';
import { verifyModule } from '../signing/verify.js';
import { admit, type Violation } from './admission.js';

export interface Prepared {
  /** SHA-256 of the input bytes, computed on first use. */
  readonly digest: string;
  /** The rewritten bytes (limits, fuel); the input when nothing needed rewriting. */
  bytes: Uint8Array;
  metered: boolean;
}

/** The module was refused before any of its code ran. */
export class AdmissionError extends Error {
  override name = 'AdmissionError';
  constructor(readonly violations: readonly Violation[]) {
    super(`refused: ${violations.map((v) => `${v.rule} (${v.message})`).join('; ')}`);
  }
}

// node:crypto is loaded on first use: `warden run` needs a digest only for pins.
let hash: typeof import('node:crypto').createHash | undefined;

export function digestOf(bytes: Uint8Array): string {
  // `require` exists in the CommonJS CLI bundle; the ESM library makes one.
  const load = typeof require === 'function' ? require : createRequire(import.meta.url);
  hash ??= (load('node:crypto') as typeof import('node:crypto')).createHash;
  return 'sha256:' + hash('sha256').update(bytes).digest('hex');
}

export function prepare(bytes: Uint8Array, policy: Policy): Prepared {
  // Signatures first: nothing of an untrusted module is decoded, let alone rewritten.
  if (policy.trust.require > 0) {
    const verdict = verifyModule(bytes, policy.trust.keys, { threshold: policy.trust.require });
    if (!verdict.ok) throw new AdmissionError([{ rule: verdict.reason === 'the module is not signed' ? 'unsigned' : 'signature-untrusted', message: verdict.reason! }]);
  }
  let digestMemo: string | undefined;
  const digest = () => (digestMemo ??= digestOf(bytes));
  let module;
  let verdict;
  try {
    // Admission walks every body, which proves them well formed: the decoder need not walk them first.
    module = decodeModule(bytes, { limits: { maxModuleBytes: policy.limits.moduleBytes }, validateBodies: false });
    verdict = admit(module, policy, digest);
  } catch (error) {
    if (error instanceof WasmDecodeError) throw new AdmissionError([{ rule: 'malformed', message: error.message, offset: error.offset }]);
    throw error;
  }
  if (!verdict.admitted) throw new AdmissionError(verdict.violations);
  const metered = policy.limits.fuel !== null;
  return {
    get digest() { return digest(); },
    bytes: prepareModule(module, { memoryBytes: policy.limits.memory, tableElements: policy.limits.tableElements, fuel: metered }),
    metered,
  };
}
