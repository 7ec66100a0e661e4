// wasm-warden's public library API. Each layer adds its exports in its own block.

// binary
export { WasmDecodeError } from './binary/errors.js';
export { readSections } from './binary/sections.js';
export type * from './binary/types.js';
