// Text a guest chose (a plugin's log line, its error, a trap message naming
// its values), made safe to print on the operator's terminal among warden's
// own lines.

import { formatViolation } from '../sandbox/admission-fixes.js';
import { escapeLogLine } from '../server/log.js';
import type { Violation } from '../sandbox/admission.js';

/**
 * `text` with control characters (C0 but tab, DEL, C1) shown as `\xNN`. Stops a
 * guest's text from sending terminal escapes (moving the cursor, retitling the
 * window, erasing what came before) or a newline that forges a line of warden's own.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Admission's violations, one indented line each with its fix (as `warden check`
 * prints them), escaped: a violation quotes the module's own import and export
 * names, which must send no terminal escape and forge no line.
 */
export function violationLines(violations: ReadonlyArray<Pick<Violation, 'rule' | 'message'>>): string {
  return violations.map((v) => `  ${terminalSafe(formatViolation(v))}`).join('\n');
}

/**
 * `value` as indented JSON in which no character acts on a terminal: beyond
 * what JSON.stringify escapes (C0), DEL, the C1 controls (U+009B is a CSI),
 * the line separators and the bidi controls are written as \u escapes, as in
 * the server's log, and parse back unchanged. For reports quoting a module's names.
 */
export function terminalSafeJson(value: unknown): string {
  return escapeLogLine(JSON.stringify(value, null, 2));
}
