// The `signature` custom section's payload (WebAssembly tool-conventions
// Signatures.md, with the two length prefixes the reference implementation
// writes): version, content type, hash function, then length-prefixed sets of
// (hashes, length-prefixed signatures). The parser is strict: every length is
// checked against what remains, nothing may follow, counts are bounded.

import { ByteReader } from '../binary/reader.js';
import { ByteWriter } from '../binary/writer.js';
import { WasmDecodeError } from '../binary/errors.js';

export const SIGNATURE_SECTION = 'signature';
export const DELIMITER_SECTION = 'signature_delimiter';
export const SPEC_VERSION = 0x01;
export const CONTENT_TYPE_MODULE = 0x01;
export const HASH_SHA256 = 0x01;
export const ALG_ED25519 = 0x01;
const MAX_HASH_SETS = 64;
const MAX_HASHES = 64;
const MAX_SIGNATURES = 256;

export interface SignatureEntry {
  keyId: Uint8Array | null;
  signature: Uint8Array;
}

export interface SignedHashes {
  hashes: Uint8Array[];
  signatures: SignatureEntry[];
}

export class SignatureFormatError extends Error {
  override name = 'SignatureFormatError';
}

function slice(reader: ByteReader, what: string): Uint8Array {
  const length = reader.u32();
  if (length > reader.remaining) reader.fail(`${what} of ${length} bytes runs past the signature data`);
  const out = reader.bytes.subarray(reader.pos, reader.pos + length);
  reader.pos += length;
  return out;
}

export function parseSignatureData(payload: Uint8Array): SignedHashes[] {
  try {
    const r = new ByteReader(payload);
    if (r.u8() !== SPEC_VERSION) r.fail('unsupported signature version');
    if (r.u8() !== CONTENT_TYPE_MODULE) r.fail('unsupported content type');
    if (r.u8() !== HASH_SHA256) r.fail('unsupported hash function');
    const setCount = r.count('signed hash set', MAX_HASH_SETS);
    const sets: SignedHashes[] = [];
    for (let s = 0; s < setCount; s++) {
      const body = new ByteReader(slice(r, 'signed hash set'));
      const hashCount = body.count('hash', MAX_HASHES, 32);
      if (hashCount === 0) body.fail('a signed hash set with no hashes');
      const hashes: Uint8Array[] = [];
      for (let h = 0; h < hashCount; h++) {
        hashes.push(body.bytes.subarray(body.pos, body.pos + 32));
        body.skip(32);
      }
      const sigCount = body.count('signature', MAX_SIGNATURES);
      const signatures: SignatureEntry[] = [];
      for (let i = 0; i < sigCount; i++) {
        const entry = new ByteReader(slice(body, 'signature'));
        const keyId = slice(entry, 'key id');
        if (entry.u8() !== ALG_ED25519) entry.fail('unsupported signature algorithm');
        const signature = slice(entry, 'signature bytes');
        if (signature.length !== 64) entry.fail(`an Ed25519 signature has 64 bytes, not ${signature.length}`);
        if (!entry.atEnd()) entry.fail('trailing bytes after a signature');
        signatures.push({ keyId: keyId.length ? keyId : null, signature });
      }
      if (!body.atEnd()) body.fail('trailing bytes after a signed hash set');
      sets.push({ hashes, signatures });
    }
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
      const entry = new ByteWriter();
      entry.u32(s.keyId?.length ?? 0);
      if (s.keyId) entry.bytes(s.keyId);
      entry.u8(ALG_ED25519).u32(s.signature.length).bytes(s.signature);
      const bytes = entry.finish();
      body.u32(bytes.length).bytes(bytes);
    }
    const bytes = body.finish();
    w.u32(bytes.length).bytes(bytes);
  }
  return w.finish();
}

/** The message a signer signs: "wasmsig" ‖ version ‖ content type ‖ hash function ‖ h1 ‖ … ‖ hn. */
export function signedMessage(hashes: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter(10 + hashes.length * 32);
  w.bytes(new TextEncoder().encode('wasmsig')).u8(SPEC_VERSION).u8(CONTENT_TYPE_MODULE).u8(HASH_SHA256);
  for (const h of hashes) w.bytes(h);
  return w.finish();
}
