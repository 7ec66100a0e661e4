// How a run ends, when it does not end by returning or proc_exit: the fixed
// list of trap kinds, and the classification of engine errors into them.

export const TRAP_KINDS = [
  'deadline', 'fuel', 'memory', 'stack', 'unreachable', 'output-limit', 'host-limit', 'out-of-bounds',
  'integer-overflow', 'division-by-zero', 'invalid-conversion', 'indirect-call', 'null-reference', 'other',
] as const;

export type TrapKind = (typeof TRAP_KINDS)[number];

export interface Trap {
  kind: TrapKind;
  message: string;
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
  for (const [pattern, kind] of patterns) if (pattern.test(message)) return { kind, message };
  return { kind: 'other', message };
}
