// The names of the hardening passes (transform/harden.ts), kept apart so the
// policy loader and the CLI can list them without loading the passes.

export type HardenPassName = 'stack' | 'null' | 'rodata' | 'bulk';
export const HARDEN_PASSES: readonly HardenPassName[] = ['stack', 'null', 'rodata', 'bulk'];

/** What wasm-ld leaves unused below its default global base (1024). */
export const DEFAULT_NULL_GUARD_BYTES = 1024;
