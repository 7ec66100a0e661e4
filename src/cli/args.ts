// A small flag parser that follows the CLI conventions: `--flag V` or
// `--flag=V`, boolean switches, repeatable flags, and positionals. Unknown
// flags are usage errors; a bare `--` ends flag parsing.

import { DURATION_EXAMPLES, toBytes, toMilliseconds } from '../policy/units.js';
import { UsageError } from './errors.js';
import { didYouMean } from './suggest.js';

export interface FlagSpec {
  /** Takes a value (`--flag V`). Otherwise a boolean switch. */
  value?: boolean;
  /** May be given more than once; values collect into an array. */
  repeat?: boolean;
  /** An empty value means something (an export named ""); otherwise one is refused. */
  empty?: boolean;
}

export interface ParsedArgs {
  flags: Map<string, string[]>;
  switches: Set<string>;
  positionals: string[];
  /** Everything after the first positional when `stopAtPositional` is set (module arguments). */
  rest: string[];
}

export interface ParseOptions {
  /** Stop at the first positional: later words belong to it (e.g. a module's own argv). */
  stopAtPositional?: boolean;
}

export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>, options: ParseOptions = {}): ParsedArgs {
  const parsed: ParsedArgs = { flags: new Map(), switches: new Set(), positionals: [], rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      parsed.positionals.push(...argv.slice(i + 1, options.stopAtPositional ? i + 2 : undefined));
      if (options.stopAtPositional) parsed.rest.push(...argv.slice(i + 2));
      break;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = word.slice(2, eq === -1 ? undefined : eq);
      const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
      if (!spec) throw new UsageError(`unknown flag --${name}${didYouMean(name, Object.keys(specs).filter((k) => k.length > 1), '--') || (eq === -1 ? pathHint(word) : '')}`);
      if (!spec.value) {
        if (eq !== -1) throw new UsageError(`--${name} takes no value`);
        parsed.switches.add(name);
        continue;
      }
      let value: string;
      if (eq !== -1) value = word.slice(eq + 1);
      else {
        if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
        value = argv[++i]!;
      }
      refuseEmpty(`--${name}`, spec, value);
      const list = parsed.flags.get(name);
      if (list && !spec.repeat) throw new UsageError(`--${name} given more than once`);
      if (list) list.push(value);
      else parsed.flags.set(name, [value]);
      continue;
    }
    if (word === '-h' && Object.hasOwn(specs, 'help') && !Object.hasOwn(specs, 'h')) { parsed.switches.add('help'); continue; }
    if (word.length > 1 && word.startsWith('-') && word !== '-') {
      // Single-dash flags are one letter, accepted only where a spec names them (e.g. `-o`):
      // `-json` is a slip for `--json`, not a flag.
      const spec = word.length === 2 && Object.hasOwn(specs, word.slice(1)) ? specs[word.slice(1)] : undefined;
      if (!spec) {
        const long = Object.keys(specs).filter((k) => k.length > 1);
        throw new UsageError(`unknown flag ${word}${long.includes(word.slice(1)) ? ` (did you mean -${word}?)` : didYouMean(word.slice(1), long, '--') || pathHint(word)}`);
      }
      if (!spec.value) { parsed.switches.add(word.slice(1)); continue; }
      if (i + 1 >= argv.length) throw new UsageError(`${word} needs a value`);
      refuseEmpty(word, spec, argv[i + 1]!);
      const name = word.slice(1);
      const list = parsed.flags.get(name);
      if (list && !spec.repeat) throw new UsageError(`${word} given more than once`);
      if (list) list.push(argv[++i]!); else parsed.flags.set(name, [argv[++i]!]);
      continue;
    }
    parsed.positionals.push(word);
    if (options.stopAtPositional) {
      let rest = argv.slice(i + 1);
      if (rest[0] === '--') rest = rest.slice(1);
      parsed.rest.push(...rest);
      break;
    }
  }
  return parsed;
}

/**
 * An empty value (`--policy "$UNSET"`) is refused by its flag: taken as given it read as no flag at all
 * (`--policy ''` ran under the defaults) or as the working directory (`--stdin ''`).
 */
function refuseEmpty(flagName: string, spec: FlagSpec, value: string): void {
  if (value === '' && !spec.empty) throw new UsageError(`${flagName} needs a value, not an empty string`);
}

/** A word that looks like a file name (a dot, a slash, a space) was most likely meant as one. */
function pathHint(word: string): string {
  return /[./\s]/.test(word) ? ` (a file? write ./${word}, or put -- before it)` : '';
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.[0];
}

export function flagList(args: ParsedArgs, name: string): string[] {
  return args.flags.get(name) ?? [];
}

/**
 * The NAME=VALUE pairs of a repeatable flag (`--env`, `call --config`), each name once: a name
 * given twice (`--env A=1 --env A=2`) had kept the last without a word, where a policy file
 * refuses the same key twice; a flag once over a policy file's name still replaces it.
 */
export function namedPairs(flagName: string, texts: readonly string[], parse: (text: string) => [string, string]): Array<[string, string]> {
  const seen = new Map<string, string>();
  return texts.map((text) => {
    const pair = parse(text);
    const earlier = seen.get(pair[0]);
    if (earlier !== undefined) throw new UsageError(`${flagName} ${text}: ${pair[0]} is already set by ${flagName} ${earlier}`);
    seen.set(pair[0], text);
    return pair;
  });
}

/** Parses `64MiB`, `1GiB`, `4096` into bytes. */
export function parseSize(text: string, what: string): number {
  const bytes = toBytes(text);
  if (bytes === null) throw new UsageError(`${what}: '${text}' is not a size (e.g. 4096, 64MiB, 1GiB)`);
  return bytes;
}

/** Parses `500ms`, `2s`, `1m` into milliseconds. A bare number is refused: its unit would be a guess. */
export function parseDuration(text: string, what: string): number {
  const ms = toMilliseconds(text);
  if (ms === null && /^\s*\d+(?:\.\d+)?\s*$/.test(text)) {
    throw new UsageError(`${what}: '${text}' needs a unit (${DURATION_EXAMPLES}); a bare number is ambiguous`);
  }
  if (ms === null) throw new UsageError(`${what}: '${text}' is not a duration (units: ${DURATION_EXAMPLES})`);
  return ms;
}

/**
 * A size that must allow something (pull's `--max-size`): 0 (or `0.5`, rounded down) would refuse
 * every module, and only after the registry had been asked; refused here, before any connection.
 */
export function parsePositiveSize(text: string, what: string): number {
  const bytes = parseSize(text, what);
  if (bytes < 1) throw new UsageError(`${what}: '${text}' must be at least 1 byte`);
  return bytes;
}

/**
 * A deadline that must leave time (a registry's or the admin API's `--timeout`): a zero one ended
 * the operation at once, after a connection had begun or with a message that named no flag value.
 */
export function parsePositiveDuration(text: string, what: string): number {
  const ms = parseDuration(text, what);
  if (!(ms > 0)) throw new UsageError(`${what}: '${text}' must be longer than 0`);
  return ms;
}

/** Parses a non-negative integer count. */
export function parseCount(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${what}: '${text}' is not a whole number`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what}: '${text}' is too large`);
  return n;
}
