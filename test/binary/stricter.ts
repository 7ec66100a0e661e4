// The classes of modules V8 accepts and the decoder refuses on purpose, apart
// from differential.ts (which turns on V8's flagged proposals when loaded), so
// that oracles running under V8's defaults can use them too.

/**
 * Classes of modules V8 accepts and the decoder refuses on purpose, each
 * matched by the decoder's reason. Keep in step with docs/RATIONALE.md.
 */
export const DELIBERATELY_STRICTER: ReadonlyArray<{ name: string; reason: RegExp }> = [
  // Import, export and custom section names over 100,000 bytes (V8 takes any length).
  { name: 'names over 100,000 bytes', reason: /^name of \d+ bytes exceeds the limit of \d+$/ },
  // Blocks nested over 10,000 deep (V8 bounds nesting only by the function's size).
  { name: 'nesting over 10,000 blocks', reason: /^nesting deeper than \d+$/ },
];
