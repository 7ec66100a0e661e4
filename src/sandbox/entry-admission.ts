// Admission of a run's entry (`_start`, or the export `invoke` names), asked
// on every run of a prepared module: one prepared module serves both. Its own
// module, free of the admission walk, so that a run from the prepared-module
// cache loads none of the decoder's code.

import type { FuncType } from '../binary/types.js';
import { RESERVED_EXPORT_PREFIX } from '../transform/reserved-names.js';
import { isNumType } from '../wasi/values.js';
import type { Violation } from './admission.js';

/** A function type as the refusals print it: `(i32, i64) -> (f64)`. */
export const signature = (t: { params: readonly string[]; results: readonly string[] }) => `(${t.params.join(', ')}) -> (${t.results.join(', ')})`;

/** Can a run call `entry`? `_start` must exist for a command run; another export must exist with numeric parameters and results. */
export function entryViolations(exports: ReadonlyMap<string, FuncType>, entry: string): Violation[] {
  const type = exports.get(entry);
  if (entry === '_start') return type ? [] : [{ rule: 'not-a-command', message: 'exports no _start function' }];
  if (!type) {
    const names = [...exports.keys()].filter((n) => n !== '_initialize' && !n.startsWith(RESERVED_EXPORT_PREFIX));
    const shown = names.slice(0, 10).map((n) => JSON.stringify(n.slice(0, 64))).join(', ');
    return [{ rule: 'export-missing', message: `exports no function ${JSON.stringify(entry.slice(0, 64))}${names.length ? `; its functions: ${shown}${names.length > 10 ? `, and ${names.length - 10} more` : ''}` : '; it exports no functions'}` }];
  }
  if (!type.params.every(isNumType) || !type.results.every(isNumType)) {
    return [{ rule: 'export-signature-unsupported', message: `${JSON.stringify(entry.slice(0, 64))} has the signature ${signature(type as { params: string[]; results: string[] })}; only i32, i64, f32 and f64 can be passed and returned` }];
  }
  return [];
}
