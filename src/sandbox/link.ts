// Inside an isolate: a run's LinkPlan becomes import functions (granted host
// functions and unknown-import stubs), each counted for the record.

import type { GuestMemory } from '../wasi/guest-memory.js';
import { GuestTrap } from '../wasi/trap.js';
import type { WasmValue } from '../wasi/values.js';
import { REPLY, type IsolateChannel } from './channel.js';
import { decodeResults, encodeArgs } from './host-call-codec.js';
import { callView, endCallView, hostFunctionTrap, memoryView, resultsOf, unknownImportStub, type CallCounts, type HostFunctionBody, type LinkPlan } from './host-functions.js';

/** Bodies this isolate can call directly (isolation "none": the embedder's own; else loaded here), by grant index. */
export type LocalBodies = ReadonlyMap<number, HostFunctionBody>;

export function buildLinks(plan: LinkPlan, memory: GuestMemory, counts: CallCounts, bodies: LocalBodies, channel?: IsolateChannel): WebAssembly.Imports {
  // Objects without a prototype: module and import names are the guest's (a stub links any name). In a
  // plain object, a module named `__proto__` reached Object.prototype and one named `constructor` reached
  // Object, so a guest under imports.unknown set Object.prototype.then or replaced Object.keys in the
  // thread that links it, the embedder's own in isolation "none".
  const imports: Record<string, Record<string, unknown>> = Object.create(null) as Record<string, Record<string, unknown>>;
  const put = (module: string, name: string, fn: unknown) => { (imports[module] ??= Object.create(null) as Record<string, unknown>)[name] = fn; };
  for (const stub of plan.stubs) put(stub.module, stub.name, unknownImportStub(stub, counts));
  const view = memoryView(memory);
  for (const h of plan.hosted) {
    const label = `${h.module}.${h.name}`;
    const count = () => counts.set(label, (counts.get(label) ?? 0) + 1);
    if (h.via === 'channel') {
      if (!channel) throw new Error(`${label}: no channel to the embedder's thread`);
      put(h.module, h.name, (...args: WasmValue[]) => {
        count();
        // Waits for the embedder's reply, bounded by the deadline (DeadlineReached ends the run).
        const { status, bytes } = channel.callWith(h.index, encodeArgs(args, h.params), memory);
        if (status !== REPLY.OK) throw new GuestTrap('host-function', `${label} threw: ${new TextDecoder().decode(bytes) || 'failed'}`);
        return decodeResults(bytes, h.results, label);
      });
      continue;
    }
    const body = bodies.get(h.index);
    if (!body) throw new Error(`${label}: its body was not loaded`);
    put(h.module, h.name, (...args: WasmValue[]) => {
      count();
      let returned: unknown;
      // A view for this call only, as over a channel: a use after the call returned throws, in every isolation mode.
      const callMemory = callView(view, label);
      try {
        returned = body(callMemory, ...args);
      } catch (error) {
        throw hostFunctionTrap(label, error);
      } finally {
        // Here the call is answered when the body returns (a promise is refused below), so the view ends now.
        endCallView(callMemory);
      }
      if (returned instanceof Promise) {
        returned.catch(() => {});
        throw new GuestTrap('host-function', `${label} returned a promise; host functions run synchronously in the guest's isolate`);
      }
      return resultsOf(returned, h.results, label);
    });
  }
  return imports as WebAssembly.Imports;
}
