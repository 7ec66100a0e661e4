// How a run ends, when it does not end by returning or proc_exit: the fixed
// list of trap kinds, and the classification of engine errors into them.

import { ACTIVE, matcher } from '../text/control-characters.js';

export const TRAP_KINDS = [
  'deadline', 'fuel', 'memory', 'stack', 'unreachable', 'output-limit', 'host-limit', 'out-of-bounds',
  'integer-overflow', 'division-by-zero', 'invalid-conversion', 'indirect-call', 'null-reference',
  // Version 2: hardening guards, host functions and unknown imports.
  'stack-guard', 'null-guard', 'rodata-write', 'host-function', 'unknown-import',
  'other',
] as const;

/** The run report's schema version (docs/report.md): trap kinds are added only with a new version. */
export const REPORT_VERSION = 2;

export type TrapKind = (typeof TRAP_KINDS)[number];

/** One guest frame of a trap, innermost first. */
export interface GuestFrame {
  /** The function's index (imports first), as the engine numbers it. */
  index: number;
  /** Its name from the module's name section; null when the module has none. */
  name: string | null;
  /**
   * Set on a frame of a function wasm-warden added to the module (the start
   * wrapper, the checkpoint); `index` is then its index in the rewritten
   * module, which the module as shipped does not have.
   */
  injected?: 'start-wrapper' | 'checkpoint';
}

/** Which function of the module as shipped a rewritten index names (transform's originalFunctionIndex). */
export interface FrameMap {
  original(index: number): number | null;
  /** The kind of an added function (for an index `original` maps to null). */
  added(index: number): 'start-wrapper' | 'checkpoint';
}

/**
 * The frames with the engine's indices, which are those of the rewritten
 * module, mapped back to the module as shipped (what its author's tools
 * show); frames of functions the rewriter added are labelled as such.
 */
export function originalFrames(stack: readonly GuestFrame[], map: FrameMap): GuestFrame[] {
  return stack.map((frame) => {
    const index = map.original(frame.index);
    return index === null ? { index: frame.index, name: null, injected: map.added(frame.index) } : { ...frame, index };
  });
}

/** Thrown through guest code by host-side stubs to end the run with a named kind (host-function, unknown-import). */
export class GuestTrap extends Error {
  override name = 'GuestTrap';
  constructor(readonly kind: TrapKind, message: string) {
    super(message);
  }
}

export interface Trap {
  kind: TrapKind;
  message: string;
  /** The guest's frames when the engine trapped, innermost first (at most MAX_FRAMES); absent for limits. */
  stack?: GuestFrame[];
}

/** Frames kept: the engine itself keeps Error.stackTraceLimit (10 by default). */
export const MAX_FRAMES = 64;
/** Names come from the module: cut, and stripped of control and bidi characters before anyone prints them. */
const MAX_NAME = 200;
const ACTIVE_CHARACTERS = matcher(ACTIVE);

function cleanName(name: string | null | undefined): string | null {
  if (!name) return null;
  return name.replace(ACTIVE_CHARACTERS, '?').slice(0, MAX_NAME);
}

/** The index at the end of a wasm frame's text, where a name (which comes first) cannot reach. */
const FRAME_TAIL = /wasm:\/\/wasm\/[0-9a-f]+:wasm-function\[(\d+)\]:0x[0-9a-f]+\)?$/;

export interface CallSiteLike { getFunctionName(): string | null; toString(): string }

/**
 * The stack of an engine error as V8's call sites when it has not been
 * formatted yet (V8 formats it on first read, through Error.prepareStackTrace),
 * else as the formatted text; null when it has neither.
 */
export function stackOf(error: Error): CallSiteLike[] | string | null {
  const saved = Error.prepareStackTrace;
  let raw: unknown;
  try {
    Error.prepareStackTrace = (_error, sites) => sites;
    raw = error.stack;
  } catch {
    raw = undefined;
  } finally {
    Error.prepareStackTrace = saved;
  }
  return Array.isArray(raw) ? (raw as CallSiteLike[]) : typeof raw === 'string' ? raw : null;
}

/**
 * The guest frames of an engine error. The structured call sites are read when
 * the error's stack has not been formatted yet (V8 formats it on first read,
 * through Error.prepareStackTrace), so a hostile function name cannot forge
 * frames; an already formatted stack is parsed line by line instead.
 */
export function guestStack(error: unknown): GuestFrame[] {
  if (!(error instanceof Error)) return [];
  const frames: GuestFrame[] = [];
  const raw = stackOf(error);
  if (Array.isArray(raw)) {
    for (const site of raw) {
      const tail = FRAME_TAIL.exec(String(site));
      if (tail) frames.push({ index: Number(tail[1]), name: cleanName(site.getFunctionName()) });
      if (frames.length === MAX_FRAMES) break;
    }
    return frames;
  }
  if (typeof raw !== 'string') return frames;
  for (const line of raw.split('\n')) {
    const tail = FRAME_TAIL.exec(line);
    if (!tail) continue;
    const named = /^\s*at (.*) \(wasm:\/\//.exec(line);
    frames.push({ index: Number(tail[1]), name: cleanName(named?.[1]) });
    if (frames.length === MAX_FRAMES) break;
  }
  return frames;
}

/** `    at name (function 12)` per frame, innermost first; for stderr and logs. */
export function formatGuestStack(stack: readonly GuestFrame[]): string[] {
  return stack.map((f) => (f.injected ? `    at [${f.injected} added by wasm-warden]`
    : f.name ? `    at ${f.name} (function ${f.index})` : `    at function ${f.index}`));
}

const patterns: Array<[RegExp, TrapKind]> = [
  [/unreachable/i, 'unreachable'],
  [/memory access out of bounds|out of bounds memory access/i, 'out-of-bounds'],
  [/table index is out of bounds|table access out of bounds|out of bounds table access/i, 'out-of-bounds'],
  [/divide by zero|division by zero|remainder by zero/i, 'division-by-zero'],
  [/integer overflow|divide result unrepresentable/i, 'integer-overflow'],
  [/float unrepresentable|invalid conversion/i, 'invalid-conversion'],
  [/null function|null reference|dereferencing a null/i, 'null-reference'],
  [/signature mismatch|indirect call/i, 'indirect-call'],
  [/maximum call stack size exceeded|call stack exhausted/i, 'stack'],
  [/out of memory|could not allocate memory|array buffer allocation failed/i, 'memory'],
];

/** Classifies an error thrown out of guest code by the engine. */
export function classifyEngineError(error: unknown): Trap {
  const message = error instanceof Error ? error.message : String(error);
  const stack = guestStack(error);
  const withStack = (kind: TrapKind): Trap => (stack.length ? { kind, message, stack } : { kind, message });
  for (const [pattern, kind] of patterns) if (pattern.test(message)) return withStack(kind);
  return withStack('other');
}

/** Trap kinds that are limits the run hit, not failures of the guest's own making. */
const LIMIT_KINDS: ReadonlySet<TrapKind> = new Set(['deadline', 'fuel', 'memory', 'output-limit', 'host-limit']);

/**
 * A hint for a run that failed with no directory granted to a module that
 * opens files by path: wasi-libc refuses such an open itself (ENOTCAPABLE,
 * "Capabilities insufficient") without asking the host, so no denial is
 * recorded and the guest's own message is all the user sees. Null when the
 * run did not fail, failed at a limit, had a directory, or opens no paths.
 */
export function noDirectoryHint(run: { exitCode: number | null; trap: Trap | null }, directoriesGranted: number, opensPaths: () => boolean): string | null {
  if (directoriesGranted > 0) return null;
  if (run.trap ? LIMIT_KINDS.has(run.trap.kind) : run.exitCode === 0) return null;
  // Asked last: the caller reads the module's import section to know.
  if (!opensPaths()) return null;
  return 'hint: no directory was granted, so every path the module tried to open failed ("Capabilities insufficient"); '
    + 'grant one with --dir HOST[::GUEST], --dir-ro or --tmpfs GUEST ([[mount]] in a policy): --dir data lets it open data/… by that relative path';
}
