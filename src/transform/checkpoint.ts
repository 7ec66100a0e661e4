// The names of the deadline checkpoint the rewriter imports, shared by the
// rewriter (which calls it before memory.grow and bulk operations), the WASI
// host (which provides it) and admission (which reserves the module name).

/** `(import "warden:host" "checkpoint" (func))`: throws the deadline signal once the run's deadline has passed. */
export const CHECKPOINT_MODULE = 'warden:host';
export const CHECKPOINT_NAME = 'checkpoint';
/** Import module names reserved for the host; admission refuses a guest that imports from them. */
export const RESERVED_IMPORT_MODULES: readonly string[] = [CHECKPOINT_MODULE];
