// The golden vectors: fixed seeds, fixed delimiter payloads, so every byte is
// reproducible. Shared by the vector test and tools/make-signing-vectors.js.

import { encodePublicKey, encodeSecretKey, secretKeyFromSeed, type SecretKey } from '../../src/signing/keys.js';
import { signModule } from '../../src/signing/sign.js';

export const seedA = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
export const seedB = Uint8Array.from({ length: 32 }, (_, i) => 0xff - i);

/** Fixed delimiter payloads: 0xd1 × 16, then 0xd2 × 16, … */
export const fixedDelimiters = (index: number) => new Uint8Array(16).fill(0xd1 + index);

/** The module split in two parts: a delimiter after its first section, another at the end. */
export function signedInParts(module: Uint8Array, key: SecretKey): Uint8Array {
  return signModule(module, key, { delimiters: [0], delimiterPayload: fixedDelimiters }).module;
}

export function buildVectors(hello: Uint8Array): Record<string, Uint8Array> {
  const a = secretKeyFromSeed(seedA);
  const b = secretKeyFromSeed(seedB);
  const signed = signModule(hello, a).module;
  const parts = signedInParts(hello, a);
  const detachedParts = signModule(hello, a, { delimiters: [0], delimiterPayload: fixedDelimiters, detached: true });
  return {
    'a.key': encodeSecretKey(a),
    'a.key.pub': encodePublicKey(a.publicKey),
    'b.key.pub': encodePublicKey(b.publicKey),
    'hello.signed.wasm': signed,
    'hello.wasm.sig': signModule(hello, a, { detached: true }).signature,
    'hello.two-signers.wasm': signModule(signed, b).module,
    'hello.parts.signed.wasm': parts,
    'hello.parts.two-signers.wasm': signModule(parts, b, { keyId: null }).module,
    'hello.parts.wasm': detachedParts.module,
    'hello.parts.wasm.sig': detachedParts.signature,
  };
}
