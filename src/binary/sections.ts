// Frames a module into its sections without decoding their contents. This is
// all that signing needs, and the first step of every full decode.

import { defaultDecodeLimits } from './limits.js';
import { ByteReader } from './reader.js';
import type { SectionInfo } from './types.js';

export const WASM_MAGIC = 0x6d736100; // "\0asm" little-endian
export const HEADER_BYTES = 8;

export function hasWasmMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x00 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d;
}

/** The version/layer field: 1 for core modules; 0x0d/layer 1 is a component. */
export function readVersion(bytes: Uint8Array): number {
  return (bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24)) >>> 0;
}

/**
 * Splits a module into sections. Checks the header, that every section's size
 * stays within the module, and that custom section names are valid UTF-8.
 * Does not check section order (the full decoder does). Refuses more than
 * `maxCustomSections` custom sections: each is an object kept, and a module
 * can hold one every three bytes.
 */
export function readSections(bytes: Uint8Array, maxNameBytes = defaultDecodeLimits.maxStringBytes, maxCustomSections = defaultDecodeLimits.maxCustomSections): SectionInfo[] {
  const reader = new ByteReader(bytes);
  if (bytes.length < HEADER_BYTES) reader.fail('too short to be a WebAssembly module', 0);
  if (!hasWasmMagic(bytes)) reader.fail('missing the \\0asm magic number', 0);
  const version = readVersion(bytes);
  if (version !== 1) {
    if ((version & 0xffff) === 0x0d && version >>> 16 === 1) reader.fail('this is a component-model binary, not a core module', 4);
    reader.fail(`unsupported binary version ${version}`, 4);
  }
  reader.pos = HEADER_BYTES;
  const sections: SectionInfo[] = [];
  let customs = 0;
  while (!reader.atEnd()) {
    const start = reader.pos;
    const id = reader.u8();
    const sizeAt = reader.pos;
    const size = reader.u32();
    if (size > reader.remaining) reader.fail(`section ${id} of ${size} bytes runs past the end of the module`, sizeAt);
    const payloadStart = reader.pos;
    const end = payloadStart + size;
    const section: SectionInfo = { id, start, payloadStart, end };
    if (id === 0) {
      if (++customs > maxCustomSections) reader.fail(`more than ${maxCustomSections} custom sections`, start);
      const names = new ByteReader(bytes, payloadStart, end);
      section.name = names.name(maxNameBytes);
    }
    sections.push(section);
    reader.pos = end;
  }
  return sections;
}
