// The refusal a module gets before any of its code runs. Its own module, free
// of admission and the rewriter: the CLI, the server and a cache hit (whose
// stored verdict may be a refusal) throw or recognise it without loading them.

import type { Violation } from './admission.js';

/** The module was refused before any of its code ran. */
export class AdmissionError extends Error {
  override name = 'AdmissionError';
  constructor(readonly violations: readonly Violation[]) {
    super(`refused: ${violations.map((v) => `${v.rule} (${v.message})`).join('; ')}`);
  }
}
