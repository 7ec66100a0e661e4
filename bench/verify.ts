// Signature verification against its physical floor: verifying a signed
// 31 MB module (yosys) beside one node:crypto SHA-256 pass over the same
// bytes, in the same process, interleaved.
//
//   npm run bench:verify [-- --runs 21]

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSecretKey } from '../src/signing/keys.js';
import { signModule } from '../src/signing/sign.js';
import { verifyModule } from '../src/signing/verify.js';
import { argValue, median, percentile, table, timeRuns } from './stats.js';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const bytes = new Uint8Array(readFileSync(join(root, 'node_modules/@yowasp/yosys/gen/yosys.core.wasm')));
const key = generateSecretKey();
const signed = signModule(bytes, key).module;
const runs = argValue('runs', 21);
const verify: number[] = [];
const hash: number[] = [];
for (let i = 0; i < runs; i++) {
  verify.push(...timeRuns(1, () => { if (!verifyModule(signed, [key.publicKey]).ok) throw new Error('did not verify'); }, i === 0 ? 1 : 0));
  hash.push(...timeRuns(1, () => { createHash('sha256').update(signed).digest(); }, i === 0 ? 1 : 0));
}
console.log(`verification of a signed ${(signed.length / 1e6).toFixed(1)} MB module, ${runs} interleaved runs (ms)\n`);
console.log(table(['operation', 'median', 'p99', 'x one SHA-256 pass'], [
  ['verifyModule (frame, hash, Ed25519)', median(verify).toFixed(1), percentile(verify, 99).toFixed(1), (median(verify) / median(hash)).toFixed(3)],
  ['one SHA-256 pass (node:crypto)', median(hash).toFixed(1), percentile(hash, 99).toFixed(1), '1.000'],
]));
