// Frames a module into its sections without decoding their contents. This is
// all that signing needs, and the first step of every full decode.

import { WasmDecodeError } from './errors.js';
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
 * Calls `visit` with each section in order (a custom section with its name),
 * after checking the header, that the section's size stays within the module
 * and that a custom section's name is valid UTF-8. Keeps nothing itself, so a
 * caller that keeps nothing per section (signature verification) frames a
 * module of millions of sections in no more memory than its bytes.
 */
export function forEachSection(bytes: Uint8Array, maxNameBytes: number, visit: (id: number, start: number, payloadStart: number, end: number, name: string | undefined) => void): void {
  const reader = new ByteReader(bytes);
  if (bytes.length < HEADER_BYTES) reader.fail('too short to be a WebAssembly module', 0);
  if (!hasWasmMagic(bytes)) reader.fail('missing the \\0asm magic number', 0);
  const version = readVersion(bytes);
  if (version !== 1) {
    if ((version & 0xffff) === 0x0d && version >>> 16 === 1) reader.fail('this is a component-model binary, not a core module', 4);
    reader.fail(`unsupported binary version ${version}`, 4);
  }
  reader.pos = HEADER_BYTES;
  const names = new ByteReader(bytes);
  while (!reader.atEnd()) {
    const start = reader.pos;
    const id = reader.u8();
    const sizeAt = reader.pos;
    const size = reader.u32();
    if (size > reader.remaining) reader.fail(`section ${id} of ${size} bytes runs past the end of the module`, sizeAt);
    const payloadStart = reader.pos;
    const end = payloadStart + size;
    let name: string | undefined;
    if (id === 0) {
      names.pos = payloadStart;
      names.end = end;
      name = names.name(maxNameBytes);
    }
    visit(id, start, payloadStart, end, name);
    reader.pos = end;
  }
}

/**
 * Splits a module into sections, checked as forEachSection checks them. Does
 * not check section order (the full decoder does). Refuses more than
 * `maxCustomSections` custom sections: each is an object kept, and a module
 * can hold one every three bytes.
 */
export function readSections(bytes: Uint8Array, maxNameBytes = defaultDecodeLimits.maxStringBytes, maxCustomSections = defaultDecodeLimits.maxCustomSections): SectionInfo[] {
  const sections: SectionInfo[] = [];
  let customs = 0;
  forEachSection(bytes, maxNameBytes, (id, start, payloadStart, end, name) => {
    if (name === undefined) {
      sections.push({ id, start, payloadStart, end });
      return;
    }
    if (++customs > maxCustomSections) throw new WasmDecodeError(`more than ${maxCustomSections} custom sections`, start);
    sections.push({ id, start, payloadStart, end, name });
  });
  return sections;
}
