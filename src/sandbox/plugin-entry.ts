// Which exports can be called as plugin functions (Extism kernel ABI): the
// input comes through the kernel, so a plugin function takes nothing and
// returns nothing or an i32 status.

import type { FuncType } from '../binary/types.js';
import type { Violation } from './admission.js';

export function pluginEntryViolations(exports: ReadonlyMap<string, FuncType>, name: string): Violation[] {
  const type = exports.get(name);
  if (!type) return [];
  if (type.params.length === 0 && (type.results.length === 0 || (type.results.length === 1 && type.results[0] === 'i32'))) return [];
  return [{ rule: 'export-signature-unsupported', message: `${JSON.stringify(name.slice(0, 64))} is not a plugin function: () -> () or () -> (i32) expected` }];
}
