// The golden vectors: fixed seeds, fixed delimiter payloads, so every byte is
// reproducible. Shared by the vector test and tools/make-signing-vectors.js.

import { ByteWriter, sized } from '../../src/binary/writer.js';
import { HEADER_BYTES } from '../../src/binary/sections.js';
import { encodePublicKey, encodeSecretKey, secretKeyFromSeed } from '../../src/signing/keys.js';
import { signModule } from '../../src/signing/sign.js';

export const seedA = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
export const seedB = Uint8Array.from({ length: 32 }, (_, i) => 0xff - i);

function delimiter(fill: number): Uint8Array {
  const body = new ByteWriter().name('signature_delimiter').bytes(new Uint8Array(16).fill(fill)).finish();
  return Uint8Array.from([0, ...sized(body)]);
}

/** The module split in two parts: a delimiter after its first section, another at the end. */
export function withDelimiters(module: Uint8Array): Uint8Array {
  // Split after the first section (the type section) and at the end.
  const firstSize = module[HEADER_BYTES + 1]!; // small modules: one-byte size
  const cut = HEADER_BYTES + 2 + firstSize;
  return Uint8Array.from([...module.subarray(0, cut), ...delimiter(0xd1), ...module.subarray(cut), ...delimiter(0xd2)]);
}

export function buildVectors(hello: Uint8Array): Record<string, Uint8Array> {
  const a = secretKeyFromSeed(seedA);
  const b = secretKeyFromSeed(seedB);
  const signed = signModule(hello, a).module;
  const parts = signModule(withDelimiters(hello), a).module;
  return {
    'a.key': encodeSecretKey(a),
    'a.key.pub': encodePublicKey(a.publicKey),
    'b.key.pub': encodePublicKey(b.publicKey),
    'hello.signed.wasm': signed,
    'hello.wasm.sig': signModule(hello, a, { detached: true }).signature,
    'hello.two-signers.wasm': signModule(signed, b).module,
    'hello.parts.signed.wasm': parts,
  };
}
