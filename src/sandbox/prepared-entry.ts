// One prepared-module cache entry as bytes: the admission's verdict and, for
// an admitted module, what a run needs (exports, stubs, guards, …) and the
// rewritten module as a patch over the original: the sections the rewrite
// left alone are named by their place in the original bytes, which the
// caller has hashed to the digest in the key, and only the sections it
// changed or added are stored. The default rewrite (the memory maximum)
// changes a few bytes of a 31 MB module; the entry stays that small.
//
//   "WWPREP\0" 0x01 | u32 header length | header (JSON) | literal bytes | HMAC-SHA256 (32)
//
// The MAC covers everything before it, under a key only this user can read
// (prepared-store.ts): an entry that was edited, truncated, or written for
// another key is refused on read.

import { equalBytes, hmacSha256 } from './digest.js';
import { readSections } from '../binary/sections.js';
import { layInPlace, type LaidPiece } from '../binary/in-place.js';
import type { FuncType } from '../binary/types.js';
import type { Prepared } from './prepare.js';
import type { Violation } from './admission.js';

const MAGIC = Buffer.from('WWPREP\u0000\u0001', 'latin1');
const MAC_BYTES = 32;
const HEADER_AT = MAGIC.length + 4;

/** What an entry is for: the original bytes' digest, the prepare config's hash, the build of wasm-warden. */
export interface EntryKey {
  digest: string;
  config: string;
  version: string;
}

/** A piece of the rewritten module: a range of the original, or a range of the entry's literal bytes. */
type Piece = ['o' | 'l', number, number];

interface Header {
  key: EntryKey;
  verdict: 'admitted' | 'refused';
  violations?: Violation[];
  prepared?: {
    length: number;
    pieces: Piece[];
    metered: boolean;
    injected: Prepared['injected'];
    guards: Prepared['guards'];
    writeGuarded?: Prepared['writeGuarded'];
    exports: Array<[string, FuncType]>;
    stubs: Prepared['stubs'];
    imported: string[];
    usesKernel: boolean;
  };
}

export type StoredVerdict =
  | { verdict: 'admitted'; prepared: Prepared }
  | { verdict: 'refused'; violations: Violation[] };

/** The entry for an admitted module (`prepared.bytes` rewritten from `original`) or a refused one. */
export function encodeEntry(key: EntryKey, original: Uint8Array, outcome: StoredVerdict, macKey: Uint8Array): Uint8Array {
  let header: Header;
  let literal: Uint8Array[] = [];
  if (outcome.verdict === 'refused') {
    header = { key, verdict: 'refused', violations: outcome.violations };
  } else {
    const p = outcome.prepared;
    // Laid over the original's bytes, the rewrite's own pieces are the patch: the original is no longer there to compare with.
    const patch = p.overwritten ? patchOfPieces(p.overwritten.pieces) : patchOf(original, p.bytes);
    literal = patch.literal;
    header = {
      key, verdict: 'admitted',
      prepared: {
        length: p.bytes.length, pieces: patch.pieces, metered: p.metered, injected: p.injected, guards: p.guards, writeGuarded: p.writeGuarded,
        exports: [...p.exports], stubs: p.stubs, imported: [...p.imported], usesKernel: p.usesKernel,
      },
    };
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const body = Buffer.concat([MAGIC, length, json, ...literal]);
  return Buffer.concat([body, mac(macKey, body)]);
}

/** Why an entry was refused on read (for --debug), or its verdict. */
export type DecodedEntry = { ok: true; stored: StoredVerdict } | { ok: false; reason: string };

/**
 * Reads an entry back, trusting none of it before its MAC checks out; then
 * the key inside must be `key` (an entry copied over another's name is
 * refused), and every piece must lie inside the original or the literal
 * bytes and together make up exactly the length recorded.
 * `inPlace`: the caller gives `original` over (assembleInPlace).
 */
export function decodeEntry(data: Uint8Array, key: EntryKey, original: Uint8Array, macKey: Uint8Array, inPlace = false): DecodedEntry {
  const fail = (reason: string): DecodedEntry => ({ ok: false, reason });
  if (data.length < HEADER_AT + MAC_BYTES) return fail('truncated');
  const body = data.subarray(0, data.length - MAC_BYTES);
  // A wrong MAC is a tampered, truncated or foreign entry: nothing in it is read.
  if (!equalBytes(mac(macKey, body), data.subarray(data.length - MAC_BYTES))) return fail('its MAC does not match');
  if (!Buffer.from(body.buffer, body.byteOffset, MAGIC.length).equals(MAGIC)) return fail('not an entry of this format');
  const headerLength = Buffer.from(body.buffer, body.byteOffset, body.length).readUInt32LE(MAGIC.length);
  if (headerLength > body.length - HEADER_AT) return fail('its header runs past the end');
  let header: Header;
  try {
    header = JSON.parse(Buffer.from(body.buffer, body.byteOffset + HEADER_AT, headerLength).toString('utf8')) as Header;
  } catch {
    return fail('its header is not JSON');
  }
  const k = header.key;
  if (!k || k.digest !== key.digest || k.config !== key.config || k.version !== key.version) return fail('it was written for another key');
  if (header.verdict === 'refused') {
    if (!Array.isArray(header.violations) || header.violations.length === 0) return fail('a refusal without violations');
    return { ok: true, stored: { verdict: 'refused', violations: header.violations } };
  }
  const p = header.prepared;
  if (header.verdict !== 'admitted' || !p || !Array.isArray(p.pieces)) return fail('no verdict');
  const literal = body.subarray(HEADER_AT + headerLength);
  const bytes = assemble(p.pieces, p.length, original, literal, inPlace);
  if (!bytes) return fail('its pieces do not make up the module');
  return {
    ok: true,
    stored: {
      verdict: 'admitted',
      prepared: {
        digest: key.digest, bytes, metered: p.metered, injected: p.injected, guards: p.guards,
        writeGuarded: Array.isArray(p.writeGuarded) && p.writeGuarded.every((n) => Number.isSafeInteger(n)) ? p.writeGuarded : [],
        exports: new Map(p.exports), stubs: p.stubs, imported: new Set(p.imported), usesKernel: p.usesKernel,
      },
    },
  };
}

function mac(key: Uint8Array, body: Uint8Array): Buffer {
  return hmacSha256(key, body);
}

/**
 * The rewritten module as pieces: each of its sections found unchanged in
 * the original (same bytes, searched among the original's sections of the
 * same id and size) is a range of the original; the rest are literal bytes.
 * Adjacent ranges are merged.
 */
function patchOf(original: Uint8Array, rewritten: Uint8Array): { pieces: Piece[]; literal: Uint8Array[] } {
  const pieces: Piece[] = [];
  const literal: Uint8Array[] = [];
  let literalLength = 0;
  const push = (kind: 'o' | 'l', start: number, end: number) => {
    const last = pieces[pieces.length - 1];
    if (last && last[0] === kind && last[2] === start) last[2] = end;
    else pieces.push([kind, start, end]);
  };
  if (rewritten === original) return { pieces: [['o', 0, original.length]], literal };
  const bySize = new Map<string, Array<{ start: number; end: number }>>();
  for (const s of readSections(original)) {
    const sig = `${s.id}:${s.end - s.start}`;
    (bySize.get(sig) ?? bySize.set(sig, []).get(sig)!).push({ start: s.start, end: s.end });
  }
  const view = (bytes: Uint8Array, start: number, end: number) => Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
  // The 8-byte header is the same in every module of version 1.
  push('o', 0, 8);
  for (const s of readSections(rewritten)) {
    const candidates = bySize.get(`${s.id}:${s.end - s.start}`) ?? [];
    const same = candidates.find((c) => view(original, c.start, c.end).equals(view(rewritten, s.start, s.end)));
    if (same) {
      push('o', same.start, same.end);
    } else {
      literal.push(rewritten.subarray(s.start, s.end));
      push('l', literalLength, literalLength + (s.end - s.start));
      literalLength += s.end - s.start;
    }
  }
  return { pieces, literal };
}

/** A patch from the pieces a rewrite was laid out from (ranges of the original, new bytes), adjacent ranges merged. */
function patchOfPieces(laid: readonly LaidPiece[]): { pieces: Piece[]; literal: Uint8Array[] } {
  const pieces: Piece[] = [];
  const literal: Uint8Array[] = [];
  let literalLength = 0;
  for (const piece of laid) {
    const [kind, start, end]: Piece = piece instanceof Uint8Array ? ['l', literalLength, literalLength + piece.length] : ['o', piece.start, piece.end];
    if (piece instanceof Uint8Array) {
      literal.push(piece);
      literalLength += piece.length;
    }
    const last = pieces[pieces.length - 1];
    if (last && last[0] === kind && last[2] === start) last[2] = end;
    else pieces.push([kind, start, end]);
  }
  return { pieces, literal };
}

/**
 * The rewritten bytes from their pieces, or null when a piece lies outside its
 * source or the lengths disagree. With `inPlace`, built over `original` itself
 * where its buffer has the room (assembleInPlace), else in a new buffer.
 */
function assemble(pieces: unknown[], length: unknown, original: Uint8Array, literal: Uint8Array, inPlace: boolean): Uint8Array | null {
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 8) return null;
  let total = 0;
  for (const piece of pieces) {
    if (!Array.isArray(piece) || piece.length !== 3) return null;
    const [kind, start, end] = piece as unknown[];
    const source = kind === 'o' ? original : kind === 'l' ? literal : null;
    if (!source || !Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return null;
    if ((start as number) < 0 || (end as number) < (start as number) || (end as number) > source.length) return null;
    total += (end as number) - (start as number);
  }
  if (total !== length) return null;
  if (inPlace) {
    const made = assembleInPlace(pieces as Piece[], length, original, literal);
    if (made) return made;
  }
  // Not zeroed first (about 10 ms for 31 MB): the pieces, checked above to add up to `length`, overwrite every byte.
  const made = Buffer.allocUnsafeSlow(length);
  const out = new Uint8Array(made.buffer, made.byteOffset, length);
  let at = 0;
  for (const [kind, start, end] of pieces as Piece[]) {
    out.set((kind === 'o' ? original : literal).subarray(start, end), at);
    at += end - start;
  }
  return out;
}

/** The rewritten bytes laid over the original's own (in-place.ts), or null when that cannot be done. */
function assembleInPlace(pieces: Piece[], length: number, original: Uint8Array, literal: Uint8Array): Uint8Array | null {
  return layInPlace(original, pieces.map(([kind, start, end]) => (kind === 'o' ? { start, end } : literal.subarray(start, end))), length);
}
