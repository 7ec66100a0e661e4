// The hashes a signature covers: SHA-256 over every section after the
// signature section (id, size and payload, exactly as stored), rolling across
// parts: one hash at each `signature_delimiter` section (the delimiter
// included) and one at the end unless the module ends with a delimiter. The
// 8-byte header is not hashed; verification checks it on its own.
// One pass over the bytes: contiguous sections go to the hash in one update,
// without copies; a part's hash is taken from a copy of the running state.

import { createHash } from 'node:crypto';
import { forEachSection, HEADER_BYTES, readSections } from '../binary/sections.js';
import type { SectionInfo } from '../binary/types.js';
import { DELIMITER_SECTION, MAX_HASHES, SIGNATURE_SECTION } from './format.js';

export interface Framed {
  sections: SectionInfo[];
  /** Indices of sections named `signature`, wherever they are. */
  signatureSections: number[];
}

export const isDelimiter = (s: SectionInfo) => s.id === 0 && s.name === DELIMITER_SECTION;

export function frame(bytes: Uint8Array): Framed {
  const sections = readSections(bytes);
  const signatureSections: number[] = [];
  for (let i = 0; i < sections.length; i++) {
    const s = sections[i]!;
    if (s.id === 0 && s.name === SIGNATURE_SECTION) signatureSections.push(i);
  }
  return { sections, signatureSections };
}

/** What verification needs of a module's framing. */
export interface Scanned {
  /** The first section, or null when the module has none. */
  first: SectionInfo | null;
  /** Indices of sections named `signature`: the first two found at most. */
  signatureSections: number[];
  /** End offsets of `signature_delimiter` sections: the first MAX_HASHES + 1 found at most. */
  delimiterEnds: number[];
  /** How many delimiters there are in all, and where the last one ends. */
  delimiters: number;
  lastDelimiterEnd: number;
}

/**
 * Frames a module as readSections does (the same checks, the same errors) in
 * one pass that keeps nothing per section: a module of millions of empty
 * custom sections, which no signature can cover, costs verification no more
 * memory than its bytes (a section object each was 45 times the module,
 * before the module was refused).
 */
export function scanSections(bytes: Uint8Array): Scanned {
  const scanned: Scanned = { first: null, signatureSections: [], delimiterEnds: [], delimiters: 0, lastDelimiterEnd: 0 };
  let index = 0;
  forEachSection(bytes, 100_000, (id, start, payloadStart, end, name) => {
    if (name === SIGNATURE_SECTION && scanned.signatureSections.length < 2) scanned.signatureSections.push(index);
    if (name === DELIMITER_SECTION) {
      if (scanned.delimiters++ <= MAX_HASHES) scanned.delimiterEnds.push(end);
      scanned.lastDelimiterEnd = end;
    }
    if (index === 0) scanned.first = name === undefined ? { id, start, payloadStart, end } : { id, start, payloadStart, end, name };
    index++;
  });
  return scanned;
}

/**
 * Hashes of the parts of bytes[start, end): one at each delimiter end, and
 * one at `end` unless the last part ended with a delimiter (or, with no
 * delimiters, one over everything, even nothing).
 */
export function hashParts(bytes: Uint8Array, start: number, end: number, delimiterEnds: readonly number[]): Uint8Array[] {
  const hash = createHash('sha256');
  const hashes: Uint8Array[] = [];
  let at = start;
  for (const delimiterEnd of delimiterEnds) {
    hash.update(bytes.subarray(at, delimiterEnd));
    hashes.push(new Uint8Array(hash.copy().digest()));
    at = delimiterEnd;
  }
  if (end > at || hashes.length === 0) {
    hash.update(bytes.subarray(at, end));
    hashes.push(new Uint8Array(hash.digest()));
  }
  return hashes;
}

/** How many parts hashParts would hash, given how many delimiters there are and where the last one ends. */
export function partCount(end: number, delimiters: number, lastDelimiterEnd: number): number {
  return delimiters === 0 ? 1 : delimiters + (end > lastDelimiterEnd ? 1 : 0);
}

/** Hashes of the module's parts, leaving out the section at `skip` (the embedded signature: index 0 only), if any. */
export function partHashes(bytes: Uint8Array, sections: readonly SectionInfo[], skip: 0 | null): Uint8Array[] {
  const start = skip === 0 && sections.length > 0 ? sections[0]!.end : HEADER_BYTES;
  const end = sections.length > 0 ? sections[sections.length - 1]!.end : HEADER_BYTES;
  const delimiterEnds = sections.filter((s, i) => i !== skip && isDelimiter(s)).map((s) => s.end);
  return hashParts(bytes, start, end, delimiterEnds);
}
