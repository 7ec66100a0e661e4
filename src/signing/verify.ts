// Verification, strict by default: the header checked on its own, exactly one
// signature (embedded as the first section, or detached, never both), and a
// signed hash set whose hashes are exactly those of every part of the module
// as it is. A module truncated at a delimiter, with a section appended,
// inserted, removed, reordered or changed, is refused with the reason.
// Framing reads section headers only: nothing of the code is decoded first.

import { verify as ed25519Verify } from 'node:crypto';
import { WasmDecodeError } from '../binary/errors.js';
import { ALG_ED25519, customPayload, MAX_HASHES, parseSignatureData, SignatureFormatError, signedMessage, type SignedHashes } from './format.js';
import { hashParts, partCount, scanSections } from './hashing.js';
import { HEADER_BYTES } from '../binary/sections.js';
import type { PublicKey } from './keys.js';

/** How many distinct trusted keys must have signed: one (`'any'`), or N of them. */
export type Requirement = 'any' | { threshold: number };

export interface VerifyOptions {
  /** A detached signature (a `signature` section's payload); the module must then carry none. */
  detached?: Uint8Array;
  /** Default `'any'`. */
  requirement?: Requirement;
  /** Shorthand for `requirement: { threshold }`. */
  threshold?: number;
}

export type RefusalCode = 'malformed-module' | 'unsigned' | 'empty' | 'misplaced' | 'malformed-signature' | 'mismatch' | 'untrusted' | 'threshold' | 'too-many-signatures' | 'bad-signature';

export interface SignatureReport {
  /** Hex; null when the signature carries none. */
  keyId: string | null;
  /** 0x01 is Ed25519; other algorithms are listed but never verified. */
  algorithm: number;
  /** Index of its signed hash set in the signature data. */
  hashSet: number;
  /** How many parts its hash set covers. */
  parts: number;
  /** Its hash set matches every part of the module as it is. */
  coversModule: boolean;
  /** Index into the keys given of the key it verified with, or null. */
  verifiedBy: number | null;
}

export interface Verification {
  ok: boolean;
  /** Why not, when not ok. */
  reason?: string;
  code?: RefusalCode;
  /** How many parts the module has (delimiters split it). */
  parts: number;
  signatures: SignatureReport[];
  /** Distinct key ids (hex) in the signature data, trusted or not; `(none)` for signatures without one. */
  keyIds: string[];
  /** Indices into the keys given of those whose signature verified over every part (one per distinct key). */
  verifiedBy: number[];
}

/** Ed25519 verifications one module may cost: hostile data could otherwise ask for keys × 16,384. */
export const MAX_VERIFICATIONS = 512;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

function requiredSigners(options: VerifyOptions): number {
  const requirement = options.requirement ?? (options.threshold !== undefined ? { threshold: options.threshold } : 'any');
  if (requirement === 'any') return 1;
  const n = requirement.threshold;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`a signer threshold must be a positive integer, not ${n}`);
  return n;
}

/** Why no hash set matches: the set closest to the module decides the wording. */
function mismatchReason(sets: readonly SignedHashes[], hashes: readonly Uint8Array[]): string {
  let best = sets[0]!;
  let bestCommon = -1;
  for (const set of sets) {
    let common = 0;
    while (common < set.hashes.length && common < hashes.length && equal(set.hashes[common]!, hashes[common]!)) common++;
    if (common > bestCommon) { best = set; bestCommon = common; }
  }
  const signed = best.hashes.length;
  const have = hashes.length;
  if (bestCommon === signed && have > signed) return `sections were added after the signed content: the signature covers ${signed} of the module's ${have} parts`;
  if (bestCommon === have && signed > have) return `the module is truncated: the signature covers ${signed} parts, the module has ${have}`;
  return `part ${bestCommon + 1} of ${have} does not match its signed hash: a section was changed, added, removed or reordered`;
}

export function verifyModule(bytes: Uint8Array, keys: readonly PublicKey[], options: VerifyOptions = {}): Verification {
  const required = requiredSigners(options);
  const refuse = (code: RefusalCode, reason: string, parts = 0, signatures: SignatureReport[] = []): Verification =>
    ({ ok: false, code, reason, parts, signatures, keyIds: keyIdsOf(signatures), verifiedBy: [] });

  let framed;
  try {
    framed = scanSections(bytes);
  } catch (error) {
    if (error instanceof WasmDecodeError) return refuse('malformed-module', `not a well-formed module: ${error.message}`);
    throw error;
  }
  const { first, signatureSections, delimiterEnds, delimiters, lastDelimiterEnd } = framed;
  if (signatureSections.length > 1) return refuse('misplaced', 'more than one signature section');
  if (signatureSections.length === 1 && signatureSections[0] !== 0) return refuse('misplaced', 'the signature section is not the first section');
  const embedded = signatureSections.length === 1;
  if (options.detached && embedded) return refuse('misplaced', 'a detached signature was given, but the module also carries one');
  if (!options.detached && !embedded) return refuse('unsigned', 'the module is not signed');

  let sets: SignedHashes[];
  try {
    sets = parseSignatureData(options.detached ?? customPayload(bytes, first!));
  } catch (error) {
    if (error instanceof SignatureFormatError || error instanceof WasmDecodeError) return refuse('malformed-signature', error.message);
    throw error;
  }

  // A signed hash set holds at most MAX_HASHES hashes: a module of more parts is refused
  // before any is hashed (a hash copy per delimiter made a module of millions of them costly).
  const start = embedded ? first!.end : HEADER_BYTES;
  const parts = partCount(bytes.length, delimiters, lastDelimiterEnd);
  const hashes = parts > MAX_HASHES ? null : hashParts(bytes, start, bytes.length, delimiterEnds);
  const covers = sets.map((s) => hashes !== null && s.hashes.length === hashes.length && s.hashes.every((h, i) => equal(h, hashes[i]!)));
  const signatures: SignatureReport[] = [];
  sets.forEach((set, hashSet) => {
    for (const sig of set.signatures) {
      signatures.push({ keyId: sig.keyId ? hex(sig.keyId) : null, algorithm: sig.algorithm, hashSet, parts: set.hashes.length, coversModule: covers[hashSet]!, verifiedBy: null });
    }
  });
  if (sets.length === 0) return refuse('empty', 'the signature data holds no signatures', parts, signatures);
  if (hashes === null) return refuse('mismatch', `the module has ${parts} parts; a signature covers at most ${MAX_HASHES}`, parts, signatures);
  if (!covers.includes(true)) return refuse('mismatch', mismatchReason(sets, hashes), parts, signatures);

  // The same key given twice counts once.
  const canonical = keys.map((k, i) => keys.findIndex((other) => equal(other.raw, k.raw)) === i);
  let budget = MAX_VERIFICATIONS;
  let report = 0;
  for (let s = 0; s < sets.length; s++) {
    const set = sets[s]!;
    if (!covers[s]) { report += set.signatures.length; continue; }
    const message = signedMessage(set.hashes);
    for (const sig of set.signatures) {
      const entry = signatures[report++]!;
      if (sig.algorithm !== ALG_ED25519) {
        if (sig.keyId && keys.some((k) => equal(k.keyId, sig.keyId!))) return refuse('bad-signature', `the signature by trusted key id ${entry.keyId} uses unknown algorithm 0x${sig.algorithm.toString(16)}: the signature data was altered`, parts, signatures);
        continue;
      }
      // A key id, when present, must be the verifying key's: it is not covered by the
      // signature, so a tolerated mismatch would let anyone rewrite it unnoticed.
      let named = false;
      for (let index = 0; index < keys.length; index++) {
        if (sig.keyId && !equal(sig.keyId, keys[index]!.keyId)) continue;
        named ||= sig.keyId !== null;
        if (!canonical[index]) continue;
        if (--budget < 0) return refuse('too-many-signatures', `more than ${MAX_VERIFICATIONS} signature checks would be needed`, parts, signatures);
        if (ed25519Verify(null, message, keys[index]!.object, sig.signature)) { entry.verifiedBy = index; break; }
      }
      // A signature that names a trusted key but does not verify with it was altered: refuse, even if others verify.
      if (named && entry.verifiedBy === null) return refuse('bad-signature', `the signature by key id ${entry.keyId} does not verify with that trusted key: the signature data was altered`, parts, signatures);
    }
  }

  const verifiedBy = [...new Set(signatures.flatMap((s) => (s.verifiedBy === null ? [] : [s.verifiedBy])))].sort((a, b) => a - b);
  const keyIds = keyIdsOf(signatures);
  const result = { parts, signatures, keyIds, verifiedBy };
  if (verifiedBy.length === 0) return { ok: false, code: 'untrusted', reason: `no trusted key signed this module (key ids present: ${keyIds.join(', ')})`, ...result };
  if (verifiedBy.length < required) return { ok: false, code: 'threshold', reason: `${verifiedBy.length} of the required ${required} trusted keys signed this module`, ...result };
  return { ok: true, ...result };
}

function keyIdsOf(signatures: readonly SignatureReport[]): string[] {
  return [...new Set(signatures.map((s) => s.keyId ?? '(none)'))];
}

export interface SignatureStatus {
  /** The module carries signature data (well formed or not). */
  signed: boolean;
  keyIds: string[];
  /** Key ids (hex, wasmsign2's default) of the given keys that verify over every part. */
  verifiedBy: string[];
  /** Per given key: whether it verifies. */
  keys: Array<{ keyId: string; verifies: boolean }>;
  parts: number;
  /** What is wrong with the signature, when something is: misplaced, malformed, mismatched, or not by these keys. */
  error?: string;
}

/** What `warden inspect` shows: whether the module is signed, by which key ids, and which given keys verify. */
export function signatureStatus(bytes: Uint8Array, keys: readonly PublicKey[] = []): SignatureStatus {
  const result = verifyModule(bytes, keys);
  const signed = result.code !== 'unsigned' && result.code !== 'malformed-module';
  const verified = new Set(result.verifiedBy.flatMap((i) => [i, ...keys.flatMap((k, j) => (equal(k.raw, keys[i]!.raw) ? [j] : []))]));
  const status: SignatureStatus = {
    signed,
    keyIds: result.keyIds,
    verifiedBy: [...new Set(result.verifiedBy.map((i) => hex(keys[i]!.keyId)))],
    keys: keys.map((k, i) => ({ keyId: hex(k.keyId), verifies: verified.has(i) })),
    parts: result.parts,
  };
  // Without keys, "no trusted key" is not a problem to report; everything else is.
  if (signed && !result.ok && !(keys.length === 0 && result.code === 'untrusted')) status.error = result.reason!;
  return status;
}

/**
 * Whether a detached signature is one for these bytes, keys aside: null when one of its hash
 * sets covers every part of the module (an embedded signature section, first, left out as
 * verification leaves it out); else 'other-bytes', or what is wrong with the signature data
 * or the module. What `warden push --referrer` checks before it publishes a signature.
 */
export function detachedMismatch(bytes: Uint8Array, detached: Uint8Array): string | null {
  let sets: SignedHashes[];
  try {
    sets = parseSignatureData(detached);
  } catch (error) {
    if (error instanceof SignatureFormatError) return error.message;
    throw error;
  }
  let scanned;
  try {
    scanned = scanSections(bytes);
  } catch (error) {
    if (error instanceof WasmDecodeError) return `not a well-formed module: ${error.message}`;
    throw error;
  }
  const start = scanned.signatureSections[0] === 0 ? scanned.first!.end : HEADER_BYTES;
  const parts = partCount(bytes.length, scanned.delimiters, scanned.lastDelimiterEnd);
  if (parts > MAX_HASHES) return 'other-bytes';
  const hashes = hashParts(bytes, start, bytes.length, scanned.delimiterEnds);
  return sets.some((set) => set.hashes.length === hashes.length && set.hashes.every((h, i) => equal(h, hashes[i]!))) ? null : 'other-bytes';
}
