#!/usr/bin/env node
// Regenerates the signing golden vectors in test/fixtures/signing/ from fixed
// seeds (Ed25519 signatures are deterministic). Run after `npm run build`.
// test/signing/vectors.test.ts recomputes them and compares byte for byte.
import { readFileSync, writeFileSync } from 'node:fs';

import { buildVectors } from '../dist/test/signing/vectors.js';

const dir = 'test/fixtures/signing';
const vectors = buildVectors(new Uint8Array(readFileSync('test/fixtures/c/hello.wasm')));
for (const [name, bytes] of Object.entries(vectors)) writeFileSync(`${dir}/${name}`, bytes);
console.log(`wrote ${Object.keys(vectors).join(', ')}`);
