// Text a guest chose (a plugin's log line, its error, a trap message naming
// its values), made safe to print on the operator's terminal among warden's
// own lines.

import { formatViolation } from '../sandbox/admission-fixes.js';
import { escapeLogLine } from '../server/log.js';
import { ACTIVE_BEYOND_C0, matcher } from '../text/control-characters.js';
import type { Violation } from '../sandbox/admission.js';
import type { CommandIO } from './io.js';

/**
 * `text` with control characters (C0 but tab, DEL, C1) shown as `\xNN`, and the line separators and
 * bidi controls as `\u{NNNN}` (as the text report writes them). Stops a guest's text, a server's answer
 * or a path from sending terminal escapes (moving the cursor, retitling the window, erasing what came
 * before), from forging a line of warden's own with a newline, and from reordering what the line reads
 * (a right-to-left override turning `gnp.exe` into `exe.png`).
 */
const TERMINAL_ACTIVE_BUT_TAB = matcher(`\\u0000-\\u0008\\u000a-\\u001f${ACTIVE_BEYOND_C0}`);

export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_ACTIVE_BUT_TAB, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
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

/**
 * Prints `value` as a command's --json result on stdout: every command's JSON goes out through here, so
 * none of them can let a module's name, a path, a guest's text or a server's answer act on the terminal.
 */
export function printJson(io: Pick<CommandIO, 'stdout'>, value: unknown): void {
  io.stdout(terminalSafeJson(value) + '\n');
}
