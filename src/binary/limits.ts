// Default decode caps, after V8's own implementation limits (wasm-limits.h):
// a module within them is one V8 would also accept on size grounds.

import type { DecodeLimits } from './types.js';

export const defaultDecodeLimits: Readonly<DecodeLimits> = Object.freeze({
  maxModuleBytes: 1024 * 1024 * 1024,
  maxTypes: 1_000_000,
  maxFunctions: 1_000_000,
  maxImports: 100_000,
  maxExports: 100_000,
  maxGlobals: 1_000_000,
  maxDataSegments: 100_000,
  maxElementSegments: 10_000_000,
  maxTableInitial: 10_000_000,
  maxLocalsPerFunction: 50_000,
  maxFunctionBodyBytes: 7_654_321,
  maxParams: 1_000,
  maxResults: 1_000,
  maxNestingDepth: 10_000,
  maxStringBytes: 100_000,
  // V8 sets no limit here. Real modules carry a few (name, producers, target_features, debug
  // info, a signature and its delimiters); a module of 3-byte empty custom sections held an
  // object or two per section while it was framed: 28.6 MiB of them cost 2.1 GB and 11 s.
  maxCustomSections: 10_000,
});

export function resolveLimits(overrides: Partial<DecodeLimits> | undefined): DecodeLimits {
  return overrides ? { ...defaultDecodeLimits, ...overrides } : defaultDecodeLimits;
}
