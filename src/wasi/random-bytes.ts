// The OS-seeded CSPRNG's bytes (for random.ts, the coarse clocks' jitter and the cache's key)
// without loading node:crypto or Web Crypto up front: `warden run` on a small module finishes in
// tens of milliseconds, and a fresh process's first Web Crypto call loads node:crypto, its streams
// and WebIDL (about 7 ms here). The native helper (native/random.c) draws from the same generator
// (OpenSSL's, in Node) without that JavaScript; without it (not built, or refused under Node's
// permission model), Web Crypto's getRandomValues, loaded on first use.

import { loadNativeHelper } from './fs/native-helper.js';

interface NativeRandom {
  /** 0 when every byte of `target` was filled; otherwise non-zero. */
  fill(target: Uint8Array): number;
}

let native: NativeRandom | null | undefined;

/** Fills `target` (at most 65,536 bytes) from the OS-seeded CSPRNG node:crypto uses. */
export function fillRandom(target: Uint8Array): void {
  native ??= loadNativeHelper<NativeRandom>('random.node');
  if (native !== null && native.fill(target) === 0) return;
  globalThis.crypto.getRandomValues(target);
}
