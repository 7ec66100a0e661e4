// Names the trap of a hardening guard. A failed check traps with `unreachable`
// in a trap arm tagged with its kind (transform/harden-guards.ts); the host
// knows where those arms lie in the bytes it runs, and an `unreachable` trap
// whose innermost wasm frame is at one of them is that guard's kind. The
// frames are read from V8's structured call sites where the stack is not
// formatted yet. The kind is a label for the operator: a module can trap in
// its own code anyway, so a module that ships a tagged arm of its own gains
// nothing but a misleading label on its own failure.

import { stackOf, type Trap, type TrapKind } from './trap.js';

/** Byte offset of a trap arm → guard kind, in the module as it runs (after any rewriting). */
export type GuardTraps = ReadonlyMap<number, TrapKind> | readonly (readonly [number, TrapKind])[];

const WASM_FRAME = /wasm:\/\/wasm\/[0-9a-f]+:wasm-function\[\d+\]:0x([0-9a-f]+)\)?$/;

/** The module byte offset of the innermost wasm frame of `error`, or null. */
function innermostWasmOffset(error: Error): number | null {
  const sites = stackOf(error);
  if (Array.isArray(sites)) {
    for (const site of sites) {
      const frame = WASM_FRAME.exec(String(site));
      if (frame) return parseInt(frame[1]!, 16);
    }
    return null;
  }
  // Already formatted (node:vm formats the stack of an error leaving a watchdog
  // context): the innermost wasm frame is the first line ending in a wasm
  // location. A name with a line break could only mislabel the module's own trap.
  if (typeof sites !== 'string') return null;
  for (const line of sites.split('\n')) {
    const frame = WASM_FRAME.exec(line);
    if (frame) return parseInt(frame[1]!, 16);
  }
  return null;
}

/** The guard's trap when `error` is an `unreachable` trap inside one of `guards`' functions, else null. */
export function guardTrap(error: unknown, guards: GuardTraps | undefined): Trap | null {
  if (!guards || !(error instanceof WebAssembly.RuntimeError) || !/unreachable/i.test(error.message)) return null;
  const map = guards instanceof Map ? guards : new Map(guards as readonly (readonly [number, TrapKind])[]);
  if (map.size === 0) return null;
  const at = innermostWasmOffset(error);
  const kind = at === null ? undefined : map.get(at);
  if (!kind) return null;
  const what = kind === 'stack-guard' ? 'the stack pointer moved below the end of static data'
    : kind === 'null-guard' ? 'a load or store below the null-guard size'
      : 'a store into read-only data';
  return { kind, message: `${what} (hardening guard at 0x${at!.toString(16)})` };
}
