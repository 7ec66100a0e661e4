// Verification, strict by default: the header checked on its own, exactly one
// signature (embedded as the first section, or detached, never both), and a
// signed hash set whose hashes are exactly those of every part of the module
// as it is: a module truncated at a delimiter, or with a section added,
// removed, reordered or changed, is refused with the reason.

import { verify as ed25519Verify } from 'node:crypto';
import { WasmDecodeError } from '../binary/errors.js';
import { parseSignatureData, SIGNATURE_SECTION, signedMessage, SignatureFormatError } from './format.js';
import { frame, partHashes } from './hashing.js';
import type { PublicKey } from './keys.js';

export interface VerifyOptions {
  /** A detached signature (the section payload); the module must then carry none. */
  detached?: Uint8Array;
  /** How many distinct trusted keys must have signed (default 1). */
  threshold?: number;
}

export interface Verification {
  ok: boolean;
  /** Why not, when not ok. */
  reason?: string;
  /** Key ids (hex) present in the signature data, trusted or not. */
  keyIds: string[];
  /** Indices into the keys given, of those whose signature verified over every part. */
  verifiedBy: number[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

export function verifyModule(bytes: Uint8Array, keys: readonly PublicKey[], options: VerifyOptions = {}): Verification {
  const refuse = (reason: string, keyIds: string[] = []): Verification => ({ ok: false, reason, keyIds, verifiedBy: [] });
  let framed;
  try {
    framed = frame(bytes);
  } catch (error) {
    if (error instanceof WasmDecodeError) return refuse(`not a well-formed module: ${error.message}`);
    throw error;
  }
  const { sections, signatureSections } = framed;
  if (signatureSections.length > 1) return refuse('more than one signature section');
  if (signatureSections.length === 1 && signatureSections[0] !== 0) return refuse('the signature section is not the first section');
  if (options.detached && signatureSections.length === 1) return refuse('a detached signature was given, but the module also carries one');
  if (!options.detached && signatureSections.length === 0) return refuse('the module is not signed');
  let payload: Uint8Array;
  if (options.detached) payload = options.detached;
  else {
    const s = sections[0]!;
    payload = bytes.subarray(s.payloadStart + 1 + SIGNATURE_SECTION.length, s.end);
  }
  let sets;
  try {
    sets = parseSignatureData(payload);
  } catch (error) {
    if (error instanceof SignatureFormatError) return refuse(error.message);
    throw error;
  }
  const keyIds = [...new Set(sets.flatMap((s) => s.signatures.map((sig) => (sig.keyId ? hex(sig.keyId) : '(none)'))))];
  const hashes = partHashes(bytes, sections, options.detached ? null : 0);
  const covering = sets.filter((s) => s.hashes.length === hashes.length && s.hashes.every((h, i) => equal(h, hashes[i]!)));
  if (covering.length === 0) {
    const partial = sets.some((s) => hashes.every((h) => s.hashes.some((x) => equal(x, h))));
    return refuse(partial ? 'the signature covers more parts than the module has (truncated?)' : 'no signature covers the module as it is (modified?)', keyIds);
  }
  const verifiedBy = new Set<number>();
  for (const set of covering) {
    const message = signedMessage(set.hashes);
    for (const sig of set.signatures) {
      keys.forEach((key, index) => {
        if (verifiedBy.has(index)) return;
        if (sig.keyId && !equal(sig.keyId, key.keyId)) return;
        if (ed25519Verify(null, message, key.object, sig.signature)) verifiedBy.add(index);
      });
    }
  }
  const threshold = options.threshold ?? 1;
  const by = [...verifiedBy].sort((a, b) => a - b);
  if (by.length === 0) return { ok: false, reason: 'no trusted key signed this module', keyIds, verifiedBy: by };
  if (by.length < threshold) return { ok: false, reason: `${by.length} of the required ${threshold} trusted keys signed this module`, keyIds, verifiedBy: by };
  return { ok: true, keyIds, verifiedBy: by };
}

/** What `warden inspect` shows: whether the module is signed, by which key ids, and which given keys verify. */
export function signatureStatus(bytes: Uint8Array, keys: readonly PublicKey[]): { signed: boolean; keyIds: string[]; verifiedBy: string[]; error?: string } {
  const result = verifyModule(bytes, keys);
  const signed = result.keyIds.length > 0 || (result.reason !== undefined && result.reason !== 'the module is not signed' && !result.reason.startsWith('not a well-formed'));
  const status = { signed, keyIds: result.keyIds, verifiedBy: result.verifiedBy.map((i) => hex(keys[i]!.keyId)) };
  return signed && !result.ok && keys.length > 0 ? { ...status, error: result.reason! } : status;
}
