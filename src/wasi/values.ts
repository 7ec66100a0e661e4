// Numeric WebAssembly values at the edges: arguments for an exported function
// parsed from text (the command line) or taken from code, and results printed
// as Wasmtime's `--invoke` prints them (decimal integers, i64 exact, floats in
// their shortest round-trip form without an exponent, `NaN`, `inf`).

export type NumType = 'i32' | 'i64' | 'f32' | 'f64';
export type WasmValue = number | bigint;

export const NUM_TYPES: readonly NumType[] = ['i32', 'i64', 'f32', 'f64'];

export function isNumType(type: unknown): type is NumType {
  return type === 'i32' || type === 'i64' || type === 'f32' || type === 'f64';
}

/** An argument that cannot be a value of its parameter's type. */
export class ValueError extends Error {
  override name = 'ValueError';
}

const INTEGER = /^[+-]?(0x[0-9a-f]+|\d+)$/i;

function integer(text: string, bits: 32 | 64, what: string): bigint {
  const t = text.replace(/_/g, '');
  if (!INTEGER.test(t)) throw new ValueError(`${what}: '${text.slice(0, 40)}' is not an integer`);
  const negative = t.startsWith('-');
  const digits = t.replace(/^[+-]/, '');
  const magnitude = BigInt(digits);
  const value = negative ? -magnitude : magnitude;
  // Signed or unsigned spellings are both accepted (-1 and 4294967295 are the same i32), as in Wasmtime.
  const min = -(1n << BigInt(bits - 1));
  const max = (1n << BigInt(bits)) - 1n;
  if (value < min || value > max) throw new ValueError(`${what}: ${text.slice(0, 40)} does not fit in ${bits} bits`);
  return BigInt.asIntN(bits, value);
}

function float(text: string, what: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'nan' || t === '+nan' || t === '-nan') return NaN;
  if (t === 'inf' || t === '+inf' || t === 'infinity' || t === '+infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) throw new ValueError(`${what}: '${text.slice(0, 40)}' is not a number`);
  return Number(t);
}

/** One argument for a parameter of `type`, from text or from code. */
export function toWasmValue(value: unknown, type: NumType, what = 'argument'): WasmValue {
  if (typeof value === 'string') {
    switch (type) {
      case 'i32': return Number(integer(value, 32, what));
      case 'i64': return integer(value, 64, what);
      case 'f32': return Math.fround(float(value, what));
      case 'f64': return float(value, what);
    }
  }
  if (typeof value === 'bigint') {
    if (type === 'i64') return integer(value.toString(), 64, what);
    if (type === 'i32') return Number(integer(value.toString(), 32, what));
    throw new ValueError(`${what}: a bigint for a ${type} parameter`);
  }
  if (typeof value === 'number') {
    if (type === 'f64') return value;
    if (type === 'f32') return Math.fround(value);
    if (!Number.isInteger(value)) throw new ValueError(`${what}: ${value} is not an integer (${type})`);
    if (type === 'i64') return integer(BigInt(value).toString(), 64, what);
    return Number(integer(String(value), 32, what));
  }
  throw new ValueError(`${what}: expected a number, a bigint or a string for ${type}, got ${typeof value}`);
}

/** Digits of a finite value written out in full (Rust's Display never uses an exponent). */
function plainDecimal(shortest: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(shortest);
  if (!match) return shortest;
  const [, sign, whole, fraction = '', exp] = match;
  const digits = whole! + fraction;
  const point = whole!.length + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function shortestF32(v: number): string {
  // The fewest significant digits that read back as the same f32.
  for (let p = 1; p <= 9; p++) {
    const text = v.toPrecision(p);
    if (Math.fround(Number(text)) === v) return String(Number(text));
  }
  return String(v);
}

/** A result as Wasmtime prints it. */
export function formatWasmValue(value: WasmValue, type: NumType): string {
  if (type === 'i32' || type === 'i64') return value.toString();
  const v = Number(value);
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0';
  return plainDecimal(type === 'f32' ? shortestF32(v) : String(v));
}
