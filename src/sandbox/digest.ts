// SHA-256, HMAC-SHA-256 and a constant-time comparison for the prepared-module
// cache: the module's digest (the key), the config's hash, an entry's file
// name and its MAC. Through the optional native helper (native/digest.c:
// OpenSSL as Node carries it, the same code node:crypto runs) when it is
// built and loadable, else through node:crypto. Loading node:crypto's module
// graph costs a `warden run` of hello about 15 M instructions, as much as the
// rest of a cache hit's own work (docs/RATIONALE.md); the helper costs about
// 2 M. Both answer alike: test/sandbox/digest.test.ts compares them.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { loadNativeHelper } from '../wasi/fs/native-helper.js';

interface NativeDigest {
  sha256(data: Uint8Array, out: Uint8Array): boolean;
  hmacSha256(key: Uint8Array, data: Uint8Array, out: Uint8Array): boolean;
  equal(a: Uint8Array, b: Uint8Array): boolean;
}

let native: NativeDigest | null | undefined;
let enabled = true;

const helper = (): NativeDigest | null => (enabled ? (native === undefined ? (native = loadNativeHelper<NativeDigest>('digest.node')) : native) : null);

/** Whether digests go through the native helper (tests compare both ways). */
export function nativeDigestAvailable(): boolean {
  return helper() !== null;
}

/** Turns the native helper off or back on (tests check the fallback with it). */
export function useNativeDigest(on: boolean): void {
  enabled = on;
}

const bytesOf = (data: Uint8Array | string): Uint8Array => (typeof data === 'string' ? Buffer.from(data, 'utf8') : data);

/** SHA-256 of `data` (a string is hashed as its UTF-8 bytes, as `Hash.update` does). */
export function sha256(data: Uint8Array | string): Buffer {
  const bytes = bytesOf(data);
  const out = Buffer.allocUnsafe(32);
  const h = helper();
  // A false answer (an argument the helper refused) goes through node:crypto: never a wrong digest.
  if (h && h.sha256(bytes, out)) return out;
  return createHash('sha256').update(bytes).digest();
}

export const sha256Hex = (data: Uint8Array | string): string => sha256(data).toString('hex');

/** A module's digest as the prepared-module cache and signatures name it: `sha256:<hex>`. */
export function digestOf(bytes: Uint8Array): string {
  return 'sha256:' + sha256Hex(bytes);
}

/** HMAC-SHA-256 of `data` under `key`. */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  const h = helper();
  if (h && h.hmacSha256(key, data, out)) return out;
  return createHmac('sha256', key).update(data).digest();
}

/**
 * Whether `a` and `b` hold the same bytes, in time that depends on their
 * length only: what it stops is a MAC found byte by byte from how soon a
 * comparison gives up. Unequal lengths are unequal (a MAC's length is public).
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const h = helper();
  return h ? h.equal(a, b) : timingSafeEqual(a, b);
}
