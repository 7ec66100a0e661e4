// The `signature` custom section's payload (WebAssembly tool-conventions
// Signatures.md, with the two length prefixes the reference implementation
// writes and the spec's table leaves out): version, content type, hash
// function, then length-prefixed signed hash sets, each holding its hashes and
// length-prefixed signatures. The parser is strict about structure: every
// length is checked against what remains, counts are capped, nothing may
// follow. A signature with an algorithm other than Ed25519 is kept (the format
// allows several algorithms) but never counts as verified.

import { ByteReader } from '../binary/reader.js';
import { ByteWriter, sized } from '../binary/writer.js';
import { WasmDecodeError } from '../binary/errors.js';
import type { SectionInfo } from '../binary/types.js';

export const SIGNATURE_SECTION = 'signature';
export const DELIMITER_SECTION = 'signature_delimiter';
export const DELIMITER_BYTES = 16;
export const SPEC_VERSION = 0x01;
export const CONTENT_TYPE_MODULE = 0x01;
export const HASH_SHA256 = 0x01;
export const ALG_ED25519 = 0x01;
export const HASH_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
// The reference implementation's caps.
export const MAX_HASH_SETS = 64;
export const MAX_HASHES = 64;
export const MAX_SIGNATURES = 256;

export interface SignatureEntry {
  /** Stored with the signature as a hint to the verifier; null when empty. Not covered by the signature. */
  keyId: Uint8Array | null;
  /** 0x01 is Ed25519. */
  algorithm: number;
  signature: Uint8Array;
}

export interface SignedHashes {
  /** h1 … hn: SHA-256 of the module up to and including each part. */
  hashes: Uint8Array[];
  signatures: SignatureEntry[];
}

export class SignatureFormatError extends Error {
  override name = 'SignatureFormatError';
}

function lengthPrefixed(reader: ByteReader, what: string): Uint8Array {
  const at = reader.pos;
  const length = reader.u32();
  if (length > reader.remaining) reader.fail(`${what} of ${length} bytes runs past the bytes that remain`, at);
  const out = reader.bytes.subarray(reader.pos, reader.pos + length);
  reader.pos += length;
  return out;
}

function parseSignature(bytes: Uint8Array): SignatureEntry {
  const entry = new ByteReader(bytes);
  const keyId = lengthPrefixed(entry, 'key id');
  const algorithm = entry.u8();
  const signature = lengthPrefixed(entry, 'signature');
  if (algorithm === ALG_ED25519 && signature.length !== ED25519_SIGNATURE_BYTES) {
    entry.fail(`an Ed25519 signature has ${ED25519_SIGNATURE_BYTES} bytes, not ${signature.length}`);
  }
  if (!entry.atEnd()) entry.fail('trailing bytes after a signature');
  return { keyId: keyId.length ? keyId : null, algorithm, signature };
}

function parseSignedHashes(bytes: Uint8Array): SignedHashes {
  const body = new ByteReader(bytes);
  const hashCount = body.count('hash', MAX_HASHES, HASH_BYTES);
  if (hashCount === 0) body.fail('a signed hash set with no hashes');
  const hashes: Uint8Array[] = [];
  for (let h = 0; h < hashCount; h++) {
    hashes.push(bytes.subarray(body.pos, body.pos + HASH_BYTES));
    body.skip(HASH_BYTES);
  }
  const signatureCount = body.count('signature', MAX_SIGNATURES, 4);
  const signatures: SignatureEntry[] = [];
  for (let i = 0; i < signatureCount; i++) signatures.push(parseSignature(lengthPrefixed(body, 'signature record')));
  if (!body.atEnd()) body.fail('trailing bytes after a signed hash set');
  return { hashes, signatures };
}

/** Parses signature data (a `signature` section's payload, or a detached signature). */
export function parseSignatureData(payload: Uint8Array): SignedHashes[] {
  try {
    const r = new ByteReader(payload);
    const version = r.u8();
    if (version !== SPEC_VERSION) r.fail(`unsupported specification version 0x${version.toString(16)}`, 0);
    const contentType = r.u8();
    if (contentType !== CONTENT_TYPE_MODULE) r.fail(`unsupported content type 0x${contentType.toString(16)} (0x01 is a module)`, 1);
    const hashFunction = r.u8();
    if (hashFunction !== HASH_SHA256) r.fail(`unsupported hash function 0x${hashFunction.toString(16)} (0x01 is SHA-256)`, 2);
    const setCount = r.count('signed hash set', MAX_HASH_SETS);
    const sets: SignedHashes[] = [];
    for (let s = 0; s < setCount; s++) sets.push(parseSignedHashes(lengthPrefixed(r, 'signed hash set')));
    if (!r.atEnd()) r.fail('trailing bytes after the signature data');
    return sets;
  } catch (error) {
    if (error instanceof WasmDecodeError) throw new SignatureFormatError(`malformed signature data: ${error.reason}`);
    throw error;
  }
}

export function encodeSignatureData(sets: readonly SignedHashes[]): Uint8Array {
  const w = new ByteWriter().u8(SPEC_VERSION).u8(CONTENT_TYPE_MODULE).u8(HASH_SHA256).u32(sets.length);
  for (const set of sets) {
    const body = new ByteWriter().u32(set.hashes.length);
    for (const h of set.hashes) body.bytes(h);
    body.u32(set.signatures.length);
    for (const s of set.signatures) {
      const entry = new ByteWriter().u32(s.keyId?.length ?? 0);
      if (s.keyId) entry.bytes(s.keyId);
      entry.u8(s.algorithm).u32(s.signature.length).bytes(s.signature);
      body.bytes(sized(entry.finish()));
    }
    w.bytes(sized(body.finish()));
  }
  return w.finish();
}

const DOMAIN = new TextEncoder().encode('wasmsig');

/** The message a signer signs: "wasmsig" ‖ version ‖ content type ‖ hash function ‖ h1 ‖ … ‖ hn. */
export function signedMessage(hashes: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter(DOMAIN.length + 3 + hashes.length * HASH_BYTES);
  w.bytes(DOMAIN).u8(SPEC_VERSION).u8(CONTENT_TYPE_MODULE).u8(HASH_SHA256);
  for (const h of hashes) w.bytes(h);
  return w.finish();
}

/** A custom section's payload after its name (the name's length may be any valid LEB128). */
export function customPayload(bytes: Uint8Array, section: SectionInfo): Uint8Array {
  const reader = new ByteReader(bytes, section.payloadStart, section.end);
  reader.name(Number.MAX_SAFE_INTEGER);
  return bytes.subarray(reader.pos, section.end);
}

/** A whole custom section: id 0, size, name, payload. */
export function encodeCustomSection(name: string, payload: Uint8Array): Uint8Array {
  const body = new ByteWriter(payload.length + name.length + 5).name(name).bytes(payload).finish();
  return new ByteWriter(body.length + 6).u8(0).bytes(sized(body)).finish();
}
