// The hashes a signature covers: SHA-256 over every section after the
// signature section (id, size and payload, as stored), cumulative, one hash at
// each `signature_delimiter` section and one at the end. The 8-byte header is
// not hashed; verification checks it on its own.

import { createHash } from 'node:crypto';
import { readSections } from '../binary/sections.js';
import type { SectionInfo } from '../binary/types.js';
import { DELIMITER_SECTION, SIGNATURE_SECTION } from './format.js';

export interface Framed {
  sections: SectionInfo[];
  /** Indices of sections named `signature`, wherever they are. */
  signatureSections: number[];
}

export function frame(bytes: Uint8Array): Framed {
  const sections = readSections(bytes);
  const signatureSections: number[] = [];
  sections.forEach((s, i) => { if (s.id === 0 && s.name === SIGNATURE_SECTION) signatureSections.push(i); });
  return { sections, signatureSections };
}

/** Hashes of the module's parts, skipping the section at `skip` (the embedded signature), if any. */
export function partHashes(bytes: Uint8Array, sections: readonly SectionInfo[], skip: number | null): Uint8Array[] {
  const hash = createHash('sha256');
  const hashes: Uint8Array[] = [];
  let pendingSinceLast = false;
  // Contiguous runs of sections are hashed in one update: no copies, few calls.
  let runStart = -1;
  let runEnd = -1;
  const flush = () => {
    if (runStart >= 0) hash.update(bytes.subarray(runStart, runEnd));
    runStart = -1;
  };
  sections.forEach((s, i) => {
    if (i === skip) { flush(); return; }
    if (runStart < 0) runStart = s.start;
    runEnd = s.end;
    pendingSinceLast = true;
    if (s.id === 0 && s.name === DELIMITER_SECTION) {
      flush();
      hashes.push(new Uint8Array(hash.copy().digest()));
      pendingSinceLast = false;
    }
  });
  flush();
  if (pendingSinceLast || hashes.length === 0) hashes.push(new Uint8Array(hash.digest()));
  return hashes;
}
