// The names of the deadline checkpoint the rewriter imports, shared by the
// rewriter (which calls it before memory.grow and bulk operations), the WASI
// host (which provides it) and admission (which reserves the module name).

/** `(import "warden:host" "checkpoint" (func))`: throws the deadline signal once the run's deadline has passed. */
export const CHECKPOINT_MODULE = 'warden:host';
export const CHECKPOINT_NAME = 'checkpoint';
/** Import module names reserved for the host; admission refuses a guest that imports from them. */
export const RESERVED_IMPORT_MODULES: readonly string[] = [CHECKPOINT_MODULE];

/**
 * Fills, copies and inits call the checkpoint only from this size up (bytes,
 * or table elements): smaller ones take microseconds, and the code around
 * them passes V8's own interrupt checks at every loop header. A checkpoint
 * costs a call into the host (measured in bench/fuel.ts); every memory.grow
 * and table.grow calls it regardless of size.
 */
export const CHECKPOINT_MIN_BYTES = 65536;
export const CHECKPOINT_MIN_ELEMENTS = 8192;
