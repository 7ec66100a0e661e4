// Sizes and durations as people write them: `64MiB`, `1GiB`, `4096`; `500ms`, `2s`.
// Shared by the policy loader and the CLI so both read values the same way.
// A duration written as text always carries its unit: `--timeout 2` read as
// 2 ms killed guests whose authors meant 2 s, so a bare number is refused
// (only a policy file's TOML/JSON number is read as milliseconds).

export const sizeUnits: Readonly<Record<string, number>> = {
  '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

export const durationUnits: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, us: 0.001 };

/** Bytes, or null when `text` is not a size. */
export function toBytes(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = match ? unitValue(sizeUnits, match[2]!) : undefined;
  if (!match || unit === undefined) return null;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** The duration units a message should name. */
export const DURATION_EXAMPLES = '500us, 500ms, 2s, 1m, 1h';

/** Milliseconds, or null when `text` is not a duration (a bare number, without a unit, is not). */
export function toMilliseconds(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = match ? unitValue(durationUnits, match[2]!) : undefined;
  if (!match || unit === undefined) return null;
  const ms = Number(match[1]) * unit;
  return Number.isFinite(ms) && ms <= 2 ** 31 ? ms : null;
}

function unitValue(units: Readonly<Record<string, number>>, name: string): number | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(units, key) ? units[key] : undefined;
}
