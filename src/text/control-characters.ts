// The characters that act on a terminal or change how a line reads, in one
// place: every printer of text someone else chose (a module's names, a guest's
// output or trap message, a config file's values, a path, a server's answer)
// escapes at least these. Kept apart, five copies of the class drifted: some
// missed the bidi controls, one the Arabic letter mark.

/**
 * Beyond C0: DEL and the C1 controls (U+009B is a CSI, as ESC [ is), the line and
 * paragraph separators, and the bidi marks, embeddings, overrides and isolates
 * (a right-to-left override turns `gnp.exe` into what reads as `exe.png`).
 * As the body of a regular expression class.
 */
export const ACTIVE_BEYOND_C0 = '\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';

/** Every C0 control as well (newline, escape, carriage return …), for text that is not JSON. */
export const ACTIVE = `\\u0000-\\u001f${ACTIVE_BEYOND_C0}`;

/** A global regular expression matching one character of `charClass`. */
export const matcher = (charClass: string): RegExp => new RegExp(`[${charClass}]`, 'g');
