// Signing: a new `signature` section placed first, or the signature added to
// the one already there (several signers over the same hashes share one
// signed hash set); or a detached signature (the section's payload), the
// module left unchanged.

import { randomBytes, sign as ed25519Sign } from 'node:crypto';
import { HEADER_BYTES } from '../binary/sections.js';
import { ByteWriter } from '../binary/writer.js';
import {
  ALG_ED25519, customPayload, DELIMITER_BYTES, DELIMITER_SECTION, encodeCustomSection, encodeSignatureData,
  parseSignatureData, SIGNATURE_SECTION, signedMessage, type SignedHashes,
} from './format.js';
import { frame, isDelimiter, partHashes } from './hashing.js';
import type { SecretKey } from './keys.js';

export class SigningError extends Error {
  override name = 'SigningError';
}

export interface SignOptions {
  /** Store this key id with the signature (default: the key's wasmsign2 default id); null stores none. */
  keyId?: Uint8Array | null;
  /** Return the signature apart, leaving the module unchanged. */
  detached?: boolean;
  /**
   * Split the module into separately verifiable parts before signing:
   * `'end'` adds one delimiter at the end (so that sections appended later can
   * be signed as a new part); a list of section indices adds a delimiter after
   * each of those sections, and one at the end. Not allowed on a module that
   * is already signed: the existing signatures would no longer match.
   */
  delimiters?: 'end' | readonly number[];
  /** The 16 bytes of each new delimiter (default: random). For reproducible output only. */
  delimiterPayload?: (index: number) => Uint8Array;
}

export interface Signed {
  module: Uint8Array;
  /** The signature section's payload (what a detached signature file holds). */
  signature: Uint8Array;
}

export function signModule(input: Uint8Array, key: SecretKey, options: SignOptions = {}): Signed {
  let bytes = input;
  let { sections, signatureSections } = frame(bytes);
  if (signatureSections.length > 1) throw new SigningError('the module has more than one signature section');
  if (signatureSections.length === 1 && signatureSections[0] !== 0) throw new SigningError('the module has a signature section that is not its first section');
  const embedded = signatureSections.length === 1;
  if (embedded && options.detached) throw new SigningError('the module already carries an embedded signature; sign it embedded to add another');
  if (options.delimiters !== undefined) {
    if (embedded) throw new SigningError('delimiters cannot be added to a signed module: its signatures would no longer match');
    bytes = withDelimiters(bytes, options.delimiters, options.delimiterPayload ?? (() => new Uint8Array(randomBytes(DELIMITER_BYTES))));
    ({ sections } = frame(bytes));
  }

  const hashes = partHashes(bytes, sections, embedded ? 0 : null);
  const keyId = options.keyId === undefined ? key.publicKey.keyId : options.keyId;
  if (keyId && keyId.length > 255) throw new SigningError('a key id has at most 255 bytes');
  const signature = new Uint8Array(ed25519Sign(null, signedMessage(hashes), key.object));
  const sets: SignedHashes[] = embedded ? parseSignatureData(customPayload(bytes, sections[0]!)) : [];
  const same = sets.find((s) => s.hashes.length === hashes.length && s.hashes.every((h, i) => Buffer.compare(h, hashes[i]!) === 0));
  const entry = { keyId, algorithm: ALG_ED25519, signature };
  if (same) {
    if (same.signatures.some((s) => Buffer.compare(s.signature, signature) === 0)) throw new SigningError('the module is already signed with this key');
    same.signatures.push(entry);
  } else {
    sets.push({ hashes, signatures: [entry] });
  }
  const payload = encodeSignatureData(sets);
  if (options.detached) return { module: bytes, signature: payload };
  const section = encodeCustomSection(SIGNATURE_SECTION, payload);
  const rest = bytes.subarray(embedded ? sections[0]!.end : HEADER_BYTES);
  const out = new ByteWriter(HEADER_BYTES + section.length + rest.length).bytes(bytes.subarray(0, HEADER_BYTES)).bytes(section).bytes(rest).finish();
  return { module: out, signature: payload };
}

/** A `signature_delimiter` section with the given 16 bytes (default: random). */
export function delimiterSection(payload: Uint8Array = new Uint8Array(randomBytes(DELIMITER_BYTES))): Uint8Array {
  if (payload.length !== DELIMITER_BYTES) throw new SigningError(`a delimiter holds ${DELIMITER_BYTES} bytes, not ${payload.length}`);
  return encodeCustomSection(DELIMITER_SECTION, payload);
}

function withDelimiters(bytes: Uint8Array, at: 'end' | readonly number[], payload: (index: number) => Uint8Array): Uint8Array {
  const { sections } = frame(bytes);
  const after = new Set(at === 'end' ? [] : at);
  for (const index of after) {
    if (!Number.isInteger(index) || index < 0 || index >= sections.length) throw new SigningError(`no section ${index} to put a delimiter after (the module has ${sections.length})`);
  }
  if (sections.length > 0) after.add(sections.length - 1);
  const w = new ByteWriter(bytes.length + after.size * 40).bytes(bytes.subarray(0, HEADER_BYTES));
  let made = 0;
  sections.forEach((s, i) => {
    w.bytes(bytes.subarray(s.start, s.end));
    const next = sections[i + 1];
    // A delimiter is never doubled: one already there (here or next) does the job.
    if (after.has(i) && !isDelimiter(s) && !(next && isDelimiter(next))) w.bytes(delimiterSection(payload(made++)));
  });
  return w.finish();
}
