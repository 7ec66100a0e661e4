// Host functions as granted capabilities, and stubs for unknown imports.
//
// An embedder grants a host function by module, name and exact signature.
// Admission refuses any import that is neither WASI nor granted (unless the
// policy's `imports.unknown` links stubs for it), and any granted one whose
// signature differs. What a run links crosses into its isolate as plain
// data (a LinkPlan); the isolate turns it into import functions:
//  - `fn` on the caller's thread (isolation "none"): called directly;
//  - `from` a JS module the isolate loads itself: called directly there;
//  - `fn` with thread isolation: a closure that stays on the embedder's
//    thread; the guest's thread posts a request over the channel and waits
//    for the reply with Atomics.wait, never past the deadline.
// Every host function gets a bounds-checked view of guest memory (never the
// buffer) that lives as long as its call (CallView), is counted in the record, and ends the run with trap kind
// `host-function` when it throws: a host function can fail a guest, never
// the host.

import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Errno, WasiError } from '../wasi/errno.js';
import { RunRefused } from '../wasi/run.js';
import type { GuestMemory } from '../wasi/guest-memory.js';
import { GuestTrap } from '../wasi/trap.js';
import { isNumType, type NumType, type WasmValue } from '../wasi/values.js';
import { decodeArgs, encodeArgs } from './host-call-codec.js';
import { needsWasmStub, wasmStub } from './wasm-stub.js';

/**
 * Checked access to the calling guest's memory: every pointer and length is
 * checked; out of bounds traps the guest. Valid until the call is answered
 * (an async body: until its promise settles); a use after that throws a TypeError.
 */
export interface GuestMemoryView {
  /** Bytes in the guest's memory now. */
  readonly size: number;
  /** A copy of [ptr, ptr + length). */
  read(ptr: number, length: number): Uint8Array;
  /** [ptr, ptr + length) as UTF-8 (invalid sequences trap). */
  readString(ptr: number, length: number): string;
  /** Copies `bytes` to ptr. */
  write(ptr: number, bytes: Uint8Array): void;
  readU32(ptr: number): number;
  writeU32(ptr: number, value: number): void;
  readU64(ptr: number): bigint;
  writeU64(ptr: number, value: bigint): void;
}

/** A host function body: the guest's memory view, then the guest's arguments. Returns nothing, one value, or an array for several results. */
export type HostFunctionBody = (memory: GuestMemoryView, ...args: WasmValue[]) => WasmValue | WasmValue[] | void | Promise<WasmValue | WasmValue[] | void>;

export interface HostFunctionSignature {
  module: string;
  name: string;
  params: readonly NumType[];
  results: readonly NumType[];
}

/**
 * One granted host function. `fn` runs on the embedder's thread (directly in
 * isolation "none"; over the channel from a worker); `from` names a JS module
 * file and export the isolate loads and calls itself (no thread crossing).
 */
export type HostFunctionGrant = HostFunctionSignature & (
  | { fn: HostFunctionBody; from?: undefined }
  | { from: { path: string; export: string }; fn?: undefined }
);

/** Unknown imports: refused at admission, or linked to stubs that trap or return zeros. */
export type UnknownImports = 'refuse' | 'trap' | 'zero';

/** What a run links beside WASI, as plain data that crosses into an isolate. */
export interface LinkPlan {
  /** Stubs for imports neither WASI nor granted. */
  stubs: Array<{ module: string; name: string; params: string[]; results: string[]; mode: 'trap' | 'zero' }>;
  /** Granted host functions, by index into the sandbox's grant list; `via` says where the body runs. */
  hosted: Array<HostFunctionSignature & { via: 'here' | 'loaded' | 'channel'; index: number; from?: { path: string; export: string } }>;
}

export const EMPTY_PLAN: LinkPlan = Object.freeze({ stubs: [], hosted: [] }) as LinkPlan;

export const keyOf = (module: string, name: string): string => `${module}\u0000${name}`;

/** Checks grants once, when the sandbox is created: names, types, exactly one body. */
export function validateHostFunctions(grants: readonly HostFunctionGrant[]): HostFunctionGrant[] {
  const seen = new Set<string>();
  return grants.map((g, i) => {
    const where = `hostFunctions[${i}]`;
    if (typeof g !== 'object' || g === null) throw new TypeError(`${where}: expected an object`);
    if (typeof g.module !== 'string' || typeof g.name !== 'string' || !g.module || !g.name) throw new TypeError(`${where}: module and name must be non-empty strings`);
    if (g.module === 'wasi_snapshot_preview1' || g.module.startsWith('warden:')) throw new TypeError(`${where}: module '${g.module}' is wasm-warden's own`);
    for (const list of ['params', 'results'] as const) {
      if (!Array.isArray(g[list]) || !g[list].every(isNumType)) throw new TypeError(`${where}.${list}: expected an array of 'i32' | 'i64' | 'f32' | 'f64'`);
    }
    const hasFn = typeof g.fn === 'function';
    const hasFrom = typeof g.from === 'object' && g.from !== null && typeof g.from.path === 'string' && typeof g.from.export === 'string';
    if (hasFn === hasFrom) throw new TypeError(`${where}: give exactly one of fn (a function) or from ({ path, export })`);
    if (hasFrom && !isAbsolute(g.from!.path)) throw new TypeError(`${where}.from.path: '${g.from!.path}' is not an absolute path (isolates load it from anywhere)`);
    const key = keyOf(g.module, g.name);
    if (seen.has(key)) throw new TypeError(`${where}: ${g.module}.${g.name} is granted twice`);
    seen.add(key);
    return Object.freeze({ ...g, params: Object.freeze([...g.params]), results: Object.freeze([...g.results]) }) as HostFunctionGrant;
  });
}

/** A checked view over the run's guest memory; refreshed on each call (the guest may have grown it). */
export function memoryView(memory: GuestMemory): GuestMemoryView {
  const fault = (error: unknown): never => {
    if (error instanceof WasiError) {
      throw new GuestTrap('host-function', error.errno === Errno.ILSEQ ? 'a host function read a string that is not UTF-8' : 'a host function was given a pointer outside guest memory');
    }
    throw error;
  };
  const guarded = <A extends unknown[], R>(f: (...a: A) => R) => (...a: A): R => {
    try {
      memory.sync();
      return f(...a);
    } catch (error) {
      return fault(error);
    }
  };
  // An i32 argument arrives signed: a pointer past 2 GiB is negative, so it is read as unsigned. Anything else is no address.
  const index = (n: unknown): number => (typeof n === 'number' && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 32 ? n >>> 0 : -1);
  return Object.freeze({
    get size() { memory.sync(); try { return memory.bytes().length; } catch { return 0; } },
    read: guarded((ptr: number, length: number) => (memory.bytes(), memory.slice(index(ptr), index(length)).slice())),
    readString: guarded((ptr: number, length: number) => (memory.bytes(), memory.string(index(ptr), index(length)))),
    write: guarded((ptr: number, bytes: Uint8Array) => {
      if (!(bytes instanceof Uint8Array)) throw new TypeError('write: bytes must be a Uint8Array');
      memory.bytes();
      memory.check(index(ptr), bytes.length);
      memory.write(index(ptr), bytes.length, bytes);
    }),
    readU32: guarded((ptr: number) => (memory.bytes(), memory.u32(index(ptr)))),
    writeU32: guarded((ptr: number, value: number) => (memory.bytes(), memory.setU32(index(ptr), value >>> 0))),
    readU64: guarded((ptr: number) => {
      memory.bytes();
      memory.check(index(ptr), 8);
      return memory.data().getBigUint64(index(ptr), true);
    }),
    writeU64: guarded((ptr: number, value: bigint) => (memory.bytes(), memory.setU64(index(ptr), value))),
  });
}

const ZERO: Record<string, unknown> = { i32: 0, i64: 0n, f32: 0, f64: 0, funcref: null, externref: null };

/** The value a host function returned, checked against its declared results (a mismatch traps the guest, never the host). */
export function resultsOf(returned: unknown, results: readonly NumType[], label: string): WasmValue | WasmValue[] | undefined {
  const values = results.length === 1 ? [returned] : results.length === 0 ? [] : Array.isArray(returned) ? returned : null;
  if (!values || values.length !== results.length) throw new GuestTrap('host-function', `${label} returned ${describe(returned)}, not ${results.length} value(s)`);
  const out = values.map((v, i) => {
    const type = results[i]!;
    if (type === 'i64') {
      if (typeof v === 'bigint') return BigInt.asIntN(64, v);
      if (typeof v === 'number' && Number.isInteger(v)) return BigInt.asIntN(64, BigInt(v));
    } else if (typeof v === 'number') {
      return type === 'i32' ? v | 0 : v;
    }
    throw new GuestTrap('host-function', `${label} returned ${describe(v)} for a ${type} result`);
  });
  return results.length === 0 ? undefined : results.length === 1 ? out[0] : out;
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? `an array of ${v.length}` : typeof v;
}

/** Counts calls per import ("module.name"), kept by the isolate for the record. */
export type CallCounts = Map<string, number>;

/**
 * What a host function threw, as text, whatever it threw. Making a string of a value can itself
 * throw (an object without a prototype, a `message` or `toString` that throws): on the embedder's
 * thread, answering a channel's call, that escaped every handler and ended the embedder's process.
 */
export function thrownText(error: unknown): string {
  try {
    const message = (error as { message?: unknown } | null)?.message;
    return String(typeof message === 'string' ? message : error);
  } catch {
    return 'a value that cannot be shown as text';
  }
}

/** The trap a throwing host function ends the run with. */
export function hostFunctionTrap(label: string, error: unknown): GuestTrap {
  if (error instanceof GuestTrap) return error;
  return new GuestTrap('host-function', `${label} threw: ${thrownText(error).slice(0, 500)}`);
}

/** A stub for an import nobody granted: traps when called, or returns typed zeros. */
export function unknownImportStub(stub: LinkPlan['stubs'][number], counts: CallCounts): (...args: unknown[]) => unknown {
  const label = `${stub.module}.${stub.name}`;
  const zeros = stub.results.map((t) => ZERO[t] ?? null);
  const value = zeros.length === 0 ? undefined : zeros.length === 1 ? zeros[0] : zeros;
  if (stub.mode === 'trap') {
    const trap = () => {
      counts.set(label, (counts.get(label) ?? 0) + 1);
      throw new GuestTrap('unknown-import', `called ${label}, an import nothing provides`);
    };
    return needsWasmStub(stub.params, stub.results) ? wasmStub(stub.params, stub.results, trap) : trap;
  }
  if (needsWasmStub(stub.params, stub.results)) return wasmStub(stub.params, stub.results, () => { counts.set(label, (counts.get(label) ?? 0) + 1); });
  return () => {
    counts.set(label, (counts.get(label) ?? 0) + 1);
    return Array.isArray(value) ? [...value] : value;
  };
}

/** A host function body exported by a JS module file, loaded by the isolate that calls it. */
export async function loadHostBody(from: { path: string; export: string }): Promise<HostFunctionBody> {
  const loaded = await import(pathToFileURL(from.path).href) as Record<string, unknown>;
  const fn = loaded[from.export];
  if (typeof fn !== 'function') throw new TypeError(`${from.path} exports no function ${from.export}`);
  return fn as HostFunctionBody;
}

/**
 * The bodies an isolate loads itself for one run's plan (`via: 'loaded'`), by
 * import index. `cache` holds each module file's export across runs, so a body
 * is imported once per isolate; a failed load is forgotten so a fixed file can
 * be loaded by a later run.
 */
export async function loadPlannedBodies(plan: LinkPlan | undefined, cache: Map<string, Promise<HostFunctionBody>>): Promise<Map<number, HostFunctionBody>> {
  const bodies = new Map<number, HostFunctionBody>();
  for (const h of plan?.hosted ?? []) {
    if (h.via !== 'loaded' || !h.from) continue;
    const key = `${h.from.path}\u0000${h.from.export}`;
    if (!cache.has(key)) cache.set(key, loadHostBody(h.from));
    try {
      bodies.set(h.index, await cache.get(key)!);
    } catch (error) {
      cache.delete(key);
      throw new RunRefused(`cannot load host function ${h.module}.${h.name}: ${(error as Error).message}`);
    }
  }
  return bodies;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The same checked view over guest memory held by another thread (the isolate checks every range it serves). */
export function remoteView(remote: { size(): number; read(ptr: number, length: number): Uint8Array; write(ptr: number, bytes: Uint8Array): void }): GuestMemoryView {
  // As in memoryView: i32 pointers and lengths arrive signed and are read as unsigned.
  const u = (n: number): number => (typeof n === 'number' && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 32 ? n >>> 0 : -1);
  const raw = remote;
  remote = { size: () => raw.size(), read: (ptr, length) => raw.read(u(ptr), u(length)), write: (ptr, bytes) => raw.write(u(ptr), bytes) };
  // Exactly the bytes each access names: readU32 read 8, so the last four bytes of memory trapped here and not in isolation "none".
  const bytesAt = (ptr: number, n: 4 | 8) => new DataView(remote.read(ptr, n).buffer);
  return Object.freeze({
    get size() { return remote.size(); },
    read: (ptr: number, length: number) => remote.read(ptr, length),
    readString: (ptr: number, length: number) => {
      try {
        return strictUtf8.decode(remote.read(ptr, length));
      } catch (error) {
        if (error instanceof TypeError) throw new TypeError('a host function read a string that is not UTF-8');
        throw error;
      }
    },
    write: (ptr: number, bytes: Uint8Array) => {
      if (!(bytes instanceof Uint8Array)) throw new TypeError('write: bytes must be a Uint8Array');
      remote.write(ptr, bytes);
    },
    readU32: (ptr: number) => bytesAt(ptr, 4).getUint32(0, true),
    writeU32: (ptr: number, value: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, value >>> 0, true); remote.write(ptr, b); },
    readU64: (ptr: number) => bytesAt(ptr, 8).getBigUint64(0, true),
    writeU64: (ptr: number, value: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), true); remote.write(ptr, b); },
  });
}

/**
 * The view one call hands its host function: it delegates to the run's view
 * while the call is in progress and is revoked once the call is answered. It
 * stops a closure that kept its view (a timer, an await that resolves after
 * the reply) from using it later: over a channel nobody would serve that
 * access (the guest no longer waits for this call), so the embedder's thread
 * would block until the deadline, or for ever in a run without one. A revoked
 * view throws at once, on the embedder's thread, naming the function.
 */
// Set by CallView's static block, the one place that reaches its private field.
let revokeView: (view: CallView) => void;
class CallView implements GuestMemoryView {
  #inner: GuestMemoryView | null;
  readonly #label: string;
  constructor(inner: GuestMemoryView, label: string) {
    this.#inner = inner;
    this.#label = label;
  }
  #live(): GuestMemoryView {
    if (this.#inner === null) throw new TypeError(`${this.#label}: guest memory used after the call returned (a host function's memory view is valid only until its call is answered)`);
    return this.#inner;
  }
  get size(): number { return this.#live().size; }
  read(ptr: number, length: number): Uint8Array { return this.#live().read(ptr, length); }
  readString(ptr: number, length: number): string { return this.#live().readString(ptr, length); }
  write(ptr: number, bytes: Uint8Array): void { this.#live().write(ptr, bytes); }
  readU32(ptr: number): number { return this.#live().readU32(ptr); }
  writeU32(ptr: number, value: number): void { this.#live().writeU32(ptr, value); }
  readU64(ptr: number): bigint { return this.#live().readU64(ptr); }
  writeU64(ptr: number, value: bigint): void { this.#live().writeU64(ptr, value); }
  static {
    revokeView = (view) => { view.#inner = null; };
  }
}
/** A fresh view of `memory` for one call of `label`; revoke it with endCallView once the call is answered. */
export function callView(memory: GuestMemoryView, label: string): GuestMemoryView {
  return new CallView(memory, label);
}

/** Ends a call's view: any later use throws a TypeError naming the function. */
export function endCallView(view: GuestMemoryView): void {
  if (view instanceof CallView) revokeView(view);
}

/**
 * Calls `body` with a view valid for this call only: revoked when the body
 * returns or throws, or, for an async body, when its promise settles (so it
 * may use the view across its own awaits while the guest waits).
 */
export function callWithView<R>(body: (view: GuestMemoryView) => R, memory: GuestMemoryView, label: string): R {
  const view = callView(memory, label);
  let returned: R;
  try {
    returned = body(view);
  } catch (error) {
    endCallView(view);
    throw error;
  }
  if (!(returned instanceof Promise)) {
    endCallView(view);
    return returned;
  }
  return returned.finally(() => endCallView(view)) as R;
}

/**
 * The embedder's side of a closure called from a worker: arguments decoded,
 * the closure called on this thread, its results checked and encoded. Guest
 * memory stays in the worker: `memory` asks the worker, which checks each
 * range while it waits for the reply.
 */
export function closureHandler(grant: HostFunctionGrant, memory: GuestMemoryView): (arg: number, data?: Uint8Array) => Promise<Uint8Array> | Uint8Array {
  const label = `${grant.module}.${grant.name}`;
  const encode = (returned: unknown): Uint8Array => {
    const value = resultsOf(returned, grant.results, label);
    return encodeArgs(value === undefined ? [] : Array.isArray(value) ? value : [value], grant.results);
  };
  return (_arg, data) => {
    const args = decodeArgs(data ?? new Uint8Array(0), grant.params);
    // The view dies once the call is answered: a later use throws here rather than waiting for a guest that has moved on.
    const returned = callWithView((view) => grant.fn!(view, ...args), memory, label);
    // An async closure may await (its own I/O) while the guest waits, bounded by the deadline.
    return returned instanceof Promise ? returned.then(encode) : encode(returned);
  };
}
