// The names the rewriter gives what it adds to a module's exports. Their own
// module, free of the rewriter: the host reads them on every run (the fuel
// counter, the moved start function), and a run from the prepared-module
// cache loads none of the rewriter's code.

/** Names the rewriter adds to a module's exports; admission refuses modules that already use the prefix. */
export const RESERVED_EXPORT_PREFIX = '__warden_';

/** The exported i64 global holding the fuel left (fuel.ts). */
export const FUEL_EXPORT = `${RESERVED_EXPORT_PREFIX}fuel`;

/** The start function of a rewritten module, for the host to call before an entry other than `_start` (start.ts). */
export const START_EXPORT = `${RESERVED_EXPORT_PREFIX}start`;
