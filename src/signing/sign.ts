// Signing: a new `signature` section placed first (or the signature added to
// the one already there), or a detached signature (the section's payload).

import { randomBytes, sign as ed25519Sign } from 'node:crypto';
import { HEADER_BYTES } from '../binary/sections.js';
import { ByteWriter, sized } from '../binary/writer.js';
import { DELIMITER_SECTION, encodeSignatureData, parseSignatureData, SIGNATURE_SECTION, signedMessage, type SignedHashes } from './format.js';
import { frame, partHashes } from './hashing.js';
import type { SecretKey } from './keys.js';

export class SigningError extends Error {
  override name = 'SigningError';
}

export interface SignOptions {
  /** Store this key id with the signature (default: the key's wasmsign2 default id); null stores none. */
  keyId?: Uint8Array | null;
  /** Return the signature apart, leaving the module unchanged. */
  detached?: boolean;
}

export interface Signed {
  module: Uint8Array;
  /** The signature section's payload (what a detached signature file holds). */
  signature: Uint8Array;
}

function customSection(name: string, payload: Uint8Array): Uint8Array {
  const body = new ByteWriter(payload.length + name.length + 5).name(name).bytes(payload).finish();
  return Uint8Array.from([0, ...sized(body)]);
}

export function signModule(bytes: Uint8Array, key: SecretKey, options: SignOptions = {}): Signed {
  const { sections, signatureSections } = frame(bytes);
  if (signatureSections.length > 1 || (signatureSections.length === 1 && signatureSections[0] !== 0)) {
    throw new SigningError('the module has a signature section that is not its first section');
  }
  const embedded = signatureSections.length === 1 ? 0 : null;
  if (embedded !== null && options.detached) throw new SigningError('the module already carries an embedded signature; sign it embedded to add another');
  const hashes = partHashes(bytes, sections, embedded);
  const keyId = options.keyId === undefined ? key.publicKey.keyId : options.keyId;
  const signature = new Uint8Array(ed25519Sign(null, signedMessage(hashes), key.object));
  const sets: SignedHashes[] = embedded === null ? [] : parseSignatureData(bytes.subarray(sections[0]!.payloadStart + 1 + SIGNATURE_SECTION.length, sections[0]!.end));
  const same = sets.find((s) => s.hashes.length === hashes.length && s.hashes.every((h, i) => Buffer.from(h).equals(Buffer.from(hashes[i]!))));
  const entry = { keyId, signature };
  if (same) {
    if (same.signatures.some((s) => Buffer.from(s.signature).equals(Buffer.from(signature)))) throw new SigningError('the module is already signed with this key');
    same.signatures.push(entry);
  } else {
    sets.push({ hashes, signatures: [entry] });
  }
  const payload = encodeSignatureData(sets);
  if (options.detached) return { module: bytes, signature: payload };
  const rest = embedded === null ? bytes.subarray(HEADER_BYTES) : bytes.subarray(sections[0]!.end);
  const out = new ByteWriter(bytes.length + payload.length + 32).bytes(bytes.subarray(0, HEADER_BYTES)).bytes(customSection(SIGNATURE_SECTION, payload)).bytes(rest).finish();
  return { module: out, signature: payload };
}

/** A `signature_delimiter` section (16 random bytes), to split a module into separately verifiable parts. */
export function delimiterSection(): Uint8Array {
  return customSection(DELIMITER_SECTION, new Uint8Array(randomBytes(16)));
}
