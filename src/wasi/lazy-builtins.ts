// Randomness without loading node:crypto up front: `warden run` on a small
// module finishes in tens of milliseconds, and loading node:crypto (or a
// require function to load it lazily) costs more than a millisecond of that.
// Web Crypto's getRandomValues is the same OS CSPRNG, loaded on first use.

/** Fills `target` (at most 65,536 bytes) from the OS CSPRNG. */
export function fillRandom(target: Uint8Array): void {
  globalThis.crypto.getRandomValues(target);
}

