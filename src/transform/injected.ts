// What the rewriter added to a module, as the host needs it on every run
// (mapping trap frames back to the module as shipped). Its own module, free of
// the rewriter: a run from the prepared-module cache loads none of its code.

/** Functions the rewriter added, by index in the rewritten module (plain numbers: they cross to isolates). */
export interface InjectedFunctions {
  /** The checkpoint import; every function of the module from this index on moved up by one. */
  checkpoint: number | null;
  /** The function exported as `_start` that runs the start function first. */
  startWrapper: number | null;
}

/**
 * The index a function of the rewritten module had in the module as shipped
 * (what its author's tools show), or null for a function the rewriter added.
 * For trap frames: V8 names functions by their index in the rewritten module.
 */
export function originalFunctionIndex(index: number, injected: InjectedFunctions): number | null {
  if (index === injected.checkpoint || index === injected.startWrapper) return null;
  return injected.checkpoint !== null && index > injected.checkpoint ? index - 1 : index;
}
