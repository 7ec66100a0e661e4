// The hashes a signature covers: SHA-256 over every section after the
// signature section (id, size and payload, exactly as stored), rolling across
// parts: one hash at each `signature_delimiter` section (the delimiter
// included) and one at the end unless the module ends with a delimiter. The
// 8-byte header is not hashed; verification checks it on its own.
// One pass over the bytes: contiguous sections go to the hash in one update,
// without copies; a part's hash is taken from a copy of the running state.

import { createHash } from 'node:crypto';
import { readSections } from '../binary/sections.js';
import type { SectionInfo } from '../binary/types.js';
import { DELIMITER_SECTION, SIGNATURE_SECTION } from './format.js';

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

/** Hashes of the module's parts, leaving out the section at `skip` (the embedded signature), if any. */
export function partHashes(bytes: Uint8Array, sections: readonly SectionInfo[], skip: number | null): Uint8Array[] {
  const hash = createHash('sha256');
  const hashes: Uint8Array[] = [];
  let runStart = -1;
  let runEnd = -1;
  let openPart = false;
  const flush = () => {
    if (runStart >= 0) hash.update(bytes.subarray(runStart, runEnd));
    runStart = -1;
  };
  for (let i = 0; i < sections.length; i++) {
    const s = sections[i]!;
    if (i === skip) { flush(); continue; }
    if (runStart < 0) runStart = s.start;
    runEnd = s.end;
    openPart = true;
    if (isDelimiter(s)) {
      flush();
      hashes.push(new Uint8Array(hash.copy().digest()));
      openPart = false;
    }
  }
  flush();
  if (openPart || hashes.length === 0) hashes.push(new Uint8Array(hash.digest()));
  return hashes;
}
