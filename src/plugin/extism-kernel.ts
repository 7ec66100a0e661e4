// The host side of the Extism kernel ABI, written from its documentation and
// run inside the guest's isolate (no thread crossing per call). Plugin memory
// is host memory the plugin reaches only through these functions: blocks
// handed out by alloc from one buffer, bounded by the policy, never reused
// within a call (freed bytes are not handed out again), and dropped with the
// call. Every offset and length is checked against what was handed out; a
// bad one traps the plugin (kind out-of-bounds), never reads host memory.

import { GuestTrap } from '../wasi/trap.js';

export interface PluginLimits {
  /** Plugin memory (all blocks of one call), bytes. alloc past it returns 0. */
  memoryBytes: number;
  /** Variables kept between calls (keys and values), bytes. var_set past it traps (host-limit). */
  varBytes: number;
  /** Log lines kept per call; more are counted and dropped. */
  logLines: number;
}

export interface KernelSpec {
  input: Uint8Array;
  config: Readonly<Record<string, string>>;
  vars: ReadonlyArray<readonly [string, Uint8Array]>;
  limits: PluginLimits;
  /** Origins http_request may reach and the response bound (policy plugin.http_hosts, plugin.http_response); absent: not granted. */
  http?: { origins: readonly string[]; maxResponseBytes: number };
}

/** How the isolate makes a plugin's HTTP request (synchronously, for the guest waits): http-isolate.ts. */
export interface KernelNetwork {
  request(head: { url: string; method: string; headers: Record<string, string> }, body: Uint8Array | null): { status: number; headers: Record<string, string>; body: Uint8Array };
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface KernelOutcome {
  output: Uint8Array;
  /** The plugin's error_set message, if any. */
  error: string | null;
  vars: Array<[string, Uint8Array]>;
  logs: Array<{ level: LogLevel; message: string }>;
  logsDropped: number;
  /** Plugin memory the call used, bytes. */
  memoryBytes: number;
}

/** A call's outcome on a kept kernel: `vars` present only when the call changed them. */
export type CallOutcome = Omit<KernelOutcome, 'vars'> & { vars?: KernelOutcome['vars'] };

/**
 * What the host keeps for one variable beyond its key and value bytes (a Map
 * entry, a string, a Uint8Array: about 260 bytes measured on Node 20). Charged
 * against plugin.vars per variable: it stops a plugin from making the host keep
 * ~130x its bound with a flood of 1-byte keys and values.
 */
const VAR_ENTRY_BYTES = 256;
/** What one variable costs against plugin.vars: key bytes as the host keeps them (UTF-8 after lossy decoding), value, entry. */
const varCost = (key: string, value: Uint8Array): number => Buffer.byteLength(key) + value.length + VAR_ENTRY_BYTES;

/** One log line is cut to this many bytes. */
const MAX_LOG_LINE = 4096;
const lossy = new TextDecoder();

export interface Kernel {
  imports: Record<string, (...args: never[]) => unknown>;
  /** The call's outcome; `withVars` false leaves the variables out (an empty list). */
  outcome(withVars?: boolean): KernelOutcome;
  /**
   * Starts another call on the same kernel (a warm instance): a new input;
   * plugin memory, output, error and logs cleared, the bytes the last call
   * used zeroed (nothing of one call's blocks reaches the next); variables
   * kept, as the ABI defines them.
   */
  reset(input: Uint8Array): void;
  /** The call's outcome as a warm instance reports it: the variables only when the call changed them. */
  callOutcome(): CallOutcome;
  /** Whether var_set changed the variables since the last reset. */
  readonly varsChanged: boolean;
}

export function createKernel(spec: KernelSpec, network?: KernelNetwork): Kernel {
  const cap = spec.limits.memoryBytes;
  // Small at first (most calls move a few bytes); doubled as blocks need it, up to the bound.
  let memory = new Uint8Array(Math.min(256, cap + 1));
  let view = new DataView(memory.buffer);
  // Offset 0 means "none" in the ABI: blocks start at 1.
  let top = 1;
  const blocks = new Map<number, number>();
  let input = spec.input;
  /** A view of this call's input for input_load_u64, made at its first use. */
  let inputView: DataView | null = null;
  let varsChanged = false;
  const vars = new Map<string, Uint8Array>(spec.vars.map(([k, v]) => [k, v]));
  let varBytes = 0;
  for (const [k, v] of vars) varBytes += varCost(k, v);
  let logs: KernelOutcome['logs'] = [];
  let logsDropped = 0;
  let error: string | null = null;
  let output: { offs: number; length: number } | null = null;
  // The last http_request's status and response headers (http_status_code, http_headers).
  let httpStatus = 0;
  let httpHeaders: Record<string, string> | null = null;

  const outside = (what: string): never => { throw new GuestTrap('out-of-bounds', `plugin ${what} outside the memory it was given`); };
  /** A 64-bit offset as a number, when [offs, offs + n) lies inside what alloc handed out. */
  const at = (offs: bigint, n: number, what: string): number => {
    if (n === 0) return Number(BigInt.asUintN(64, offs));
    // Read as a signed number: a negative i64 (a huge unsigned offset) and anything past 2^53 fail the same checks as any offset past `top`.
    const o = Number(offs);
    if (!(o >= 1 && o <= top && n <= top - o)) outside(what);
    return o;
  };
  /** The bytes of the block starting at `offs` (a key, a message): only a block's start names one. */
  const block = (offs: bigint, what: string): Uint8Array => {
    const o = Number(BigInt.asUintN(64, offs));
    const length = blocks.get(o);
    if (length === undefined) outside(`${what} at an offset that is not a block`);
    return memory.subarray(o, o + length!);
  };
  const alloc = (n: number): number => {
    if (n <= 0) return 0;
    // The policy's bound: the plugin sees an allocation failure (0), the host keeps nothing more.
    if (n > cap - (top - 1)) return 0;
    const need = top + n;
    if (need > memory.length) {
      const grown = new Uint8Array(Math.min(Math.max(need, memory.length * 2), cap + 1));
      grown.set(memory.subarray(0, top));
      memory = grown;
      view = new DataView(memory.buffer);
    }
    const offs = top;
    top = need;
    blocks.set(offs, n);
    return offs;
  };
  const copyIn = (bytes: Uint8Array): bigint => {
    const offs = alloc(bytes.length);
    if (offs !== 0) memory.set(bytes, offs);
    return BigInt(offs);
  };
  const inputAt = (offs: bigint, n: number): number => {
    // Read as a signed number, as in `at`: negative or past the input, it traps.
    const o = Number(offs);
    if (!(o >= 0 && n <= input.length - o)) throw new GuestTrap('out-of-bounds', 'plugin read past the end of its input');
    return o;
  };
  const log = (level: LogLevel) => (offs: bigint): void => {
    // Rate limit: a plugin that logs in a loop costs the host a counter, not memory.
    if (logs.length >= spec.limits.logLines) { logsDropped++; return; }
    const bytes = block(offs, 'log message');
    logs.push({ level, message: lossy.decode(bytes.subarray(0, MAX_LOG_LINE)) });
  };

  const imports = {
    input_length: (): bigint => BigInt(input.length),
    input_load_u8: (offs: bigint): number => input[inputAt(offs, 1)]!,
    input_load_u64: (offs: bigint): bigint => {
      const o = inputAt(offs, 8);
      inputView ??= new DataView(input.buffer, input.byteOffset, input.length);
      return inputView.getBigUint64(o, true);
    },
    length: (offs: bigint): bigint => BigInt(blocks.get(Number(BigInt.asUintN(64, offs))) ?? 0),
    length_unsafe: (offs: bigint): bigint => BigInt(blocks.get(Number(BigInt.asUintN(64, offs))) ?? 0),
    alloc: (n: bigint): bigint => {
      const size = BigInt.asUintN(64, n);
      return size > BigInt(cap) ? 0n : BigInt(alloc(Number(size)));
    },
    free: (offs: bigint): void => { blocks.delete(Number(BigInt.asUintN(64, offs))); },
    output_set: (offs: bigint, n: bigint): void => {
      const length = Number(BigInt.asUintN(64, n));
      if (length > cap) outside('output');
      output = { offs: at(offs, length, 'output'), length };
    },
    error_set: (offs: bigint): void => {
      error = offs === 0n ? null : lossy.decode(block(offs, 'error message'));
    },
    store_u8: (offs: bigint, value: number): void => { memory[at(offs, 1, 'store')] = value & 0xff; },
    load_u8: (offs: bigint): number => memory[at(offs, 1, 'load')]!,
    store_u64: (offs: bigint, value: bigint): void => { view.setBigUint64(at(offs, 8, 'store'), BigInt.asUintN(64, value), true); },
    load_u64: (offs: bigint): bigint => view.getBigUint64(at(offs, 8, 'load'), true),
    config_get: (offs: bigint): bigint => {
      const key = lossy.decode(block(offs, 'config key'));
      return Object.hasOwn(spec.config, key) ? copyIn(Buffer.from(spec.config[key]!)) : 0n;
    },
    var_get: (offs: bigint): bigint => {
      const value = vars.get(lossy.decode(block(offs, 'variable name')));
      return value === undefined ? 0n : copyIn(value);
    },
    var_set: (keyOffs: bigint, valueOffs: bigint): void => {
      const key = lossy.decode(block(keyOffs, 'variable name'));
      // The value's block is found before the tally changes: a value offset that traps must leave
      // the tally as it was. The kernel outlives a trapped call's instance (sessions), so a trap
      // after the old value's cost was taken off widened plugin.vars by that much each time.
      const value = valueOffs === 0n ? null : block(valueOffs, 'variable value').slice();
      const old = vars.get(key);
      const oldCost = old ? varCost(key, old) : 0;
      if (value === null) {
        varsChanged = true;
        if (old) { vars.delete(key); varBytes -= oldCost; }
        return;
      }
      // The policy's bound on what the host keeps between calls.
      if (varBytes - oldCost + varCost(key, value) > spec.limits.varBytes) throw new GuestTrap('host-limit', `plugin variables would exceed ${spec.limits.varBytes} bytes`);
      varsChanged = true;
      vars.set(key, value);
      varBytes += varCost(key, value) - oldCost;
    },
    log_trace: log('trace'),
    log_debug: log('debug'),
    log_info: log('info'),
    log_warn: log('warn'),
    log_error: log('error'),
    get_log_level: (): number => 0,
    http_request: (requestOffs: bigint, bodyOffs: bigint): bigint => {
      // Linked only when the policy grants hosts (admission refuses the import otherwise); an isolate without a way out traps.
      if (!network) throw new GuestTrap('host-function', 'http_request is not available in this isolate');
      const head = httpHead(lossy.decode(block(requestOffs, 'http request')));
      const body = bodyOffs === 0n || head.method === 'GET' || head.method === 'HEAD' ? null : block(bodyOffs, 'http request body').slice();
      const response = network.request(head, body);
      httpStatus = response.status;
      httpHeaders = response.headers;
      return response.body.length === 0 ? 0n : copyIn(response.body);
    },
    http_status_code: (): number => httpStatus,
    http_headers: (): bigint => (httpHeaders === null ? 0n : copyIn(Buffer.from(JSON.stringify(httpHeaders)))),
  };

  return {
    imports: imports as unknown as Kernel['imports'],
    get varsChanged() { return varsChanged; },
    reset: (next: Uint8Array) => {
      // The buffer is kept (pooled) but what the last call wrote in it is zeroed before the next can read it.
      memory.fill(0, 0, top);
      top = 1;
      if (blocks.size > 0) blocks.clear();
      input = next;
      inputView = null;
      logs = [];
      logsDropped = 0;
      error = null;
      output = null;
      varsChanged = false;
      httpStatus = 0;
      httpHeaders = null;
    },
    callOutcome: () => {
      const outcome: CallOutcome = { output: output ? memory.slice(output.offs, output.offs + output.length) : new Uint8Array(0), error, logs, logsDropped, memoryBytes: top - 1 };
      if (varsChanged) outcome.vars = [...vars];
      return outcome;
    },
    outcome: (withVars = true) => ({
      output: output ? memory.slice(output.offs, output.offs + output.length) : new Uint8Array(0),
      error,
      vars: withVars ? [...vars] : [],
      logs,
      logsDropped,
      memoryBytes: top - 1,
    }),
  };
}

/** The request a plugin wrote (Extism's JSON: url, method, headers), checked field by field; anything else traps. */
function httpHead(text: string): { url: string; method: string; headers: Record<string, string> } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new GuestTrap('host-function', 'http_request: the request is not JSON');
  }
  const r = raw as { url?: unknown; method?: unknown; headers?: unknown; header?: unknown };
  if (typeof raw !== 'object' || raw === null || typeof r.url !== 'string') throw new GuestTrap('host-function', 'http_request: the request names no url');
  const method = r.method === undefined || r.method === null ? 'GET' : r.method;
  if (typeof method !== 'string' || !/^[A-Za-z]{1,16}$/.test(method)) throw new GuestTrap('host-function', 'http_request: the method is not a word');
  const given = r.headers ?? r.header ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new GuestTrap('host-function', 'http_request: headers must be an object of strings');
  // No prototype: a header named __proto__ stays a header.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(given)) {
    if (typeof v !== 'string') throw new GuestTrap('host-function', `http_request: header ${JSON.stringify(k.slice(0, 64))} is not a string`);
    headers[k] = v;
  }
  return { url: r.url, method: method.toUpperCase(), headers };
}
