// The bytes of a host-function call over the channel: arguments and results
// as 8-byte little-endian slots (i64 as a two's-complement integer, the
// others as a double, which holds every i32, f32 and f64 exactly).

import { GuestTrap } from '../wasi/trap.js';
import type { NumType, WasmValue } from '../wasi/values.js';

export function encodeArgs(values: readonly WasmValue[], types: readonly NumType[]): Uint8Array {
  const bytes = new Uint8Array(types.length * 8);
  const view = new DataView(bytes.buffer);
  types.forEach((type, i) => {
    if (type === 'i64') view.setBigInt64(i * 8, BigInt.asIntN(64, BigInt(values[i] ?? 0n)), true);
    else view.setFloat64(i * 8, Number(values[i] ?? 0), true);
  });
  return bytes;
}

function decode(bytes: Uint8Array, types: readonly NumType[]): WasmValue[] | null {
  if (bytes.length !== types.length * 8) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return types.map((type, i) => (type === 'i64' ? view.getBigInt64(i * 8, true) : type === 'i32' ? view.getFloat64(i * 8, true) | 0 : view.getFloat64(i * 8, true)));
}

/** The embedder's side: the guest's arguments (already typed by the signature). */
export function decodeArgs(bytes: Uint8Array, types: readonly NumType[]): WasmValue[] {
  return decode(bytes, types) ?? [];
}

/** The guest's side: the embedder's results, as the import returns them. */
export function decodeResults(bytes: Uint8Array, types: readonly NumType[], label: string): WasmValue | WasmValue[] | undefined {
  const values = decode(bytes, types);
  if (!values) throw new GuestTrap('host-function', `${label}: a malformed reply`);
  return types.length === 0 ? undefined : types.length === 1 ? values[0] : values;
}
