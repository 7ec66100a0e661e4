// Verification runs on modules nobody trusted yet, before the decoder: a
// module of millions of empty custom sections, or of a signature followed by
// a million delimiters, is refused for less host memory than its own size
// (it was over 40 times it). Measured as the peak resident set (VmHWM) of a
// child process.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const lib = (path: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${path}`, import.meta.url)));

const probe = `
import { readFileSync } from 'node:fs';
import { verifyModule } from ${lib('signing/verify.js')};
import { encodeCustomSection, encodeSignatureData } from ${lib('signing/format.js')};
import { generateKeyPair } from ${lib('signing/keys.js')};
const peak = () => Number(/^VmHWM:\\s+(\\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const header = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
const key = generateKeyPair().publicKey;
const repeat = (section, n, before = new Uint8Array(0)) => {
  const out = new Uint8Array(8 + before.length + section.length * n);
  out.set(header);
  out.set(before, 8);
  for (let i = 0, at = 8 + before.length; i < n; i++, at += section.length) out.set(section, at);
  return out;
};
const empties = repeat(Uint8Array.of(0, 1, 0), 4_000_000);
const signature = encodeCustomSection('signature', encodeSignatureData([{ hashes: [new Uint8Array(32)], signatures: [{ keyId: null, algorithm: 1, signature: new Uint8Array(64) }] }]));
const delimiters = repeat(encodeCustomSection('signature_delimiter', new Uint8Array(0)), 1_000_000, signature);
verifyModule(Uint8Array.of(...header), [key]);
const out = {};
for (const [name, module] of [['empties', empties], ['delimiters', delimiters]]) {
  const before = peak();
  const result = verifyModule(module, [key]);
  out[name] = { size: module.length, code: result.code, reason: result.reason, growth: peak() - before };
}
console.log(JSON.stringify(out));
`;

describe('what verification costs on hostile framing', () => {
  it('refuses millions of empty sections, and a million delimiters, for less memory than the module holds', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8', maxBuffer: 1 << 20 });
    assert.equal(r.status, 0, r.stderr);
    type Outcome = { size: number; code: string; reason: string; growth: number };
    const out = JSON.parse(r.stdout) as { empties: Outcome; delimiters: Outcome };
    const { empties, delimiters } = out;
    for (const [name, m] of Object.entries(out)) {
      assert.ok(m.growth < m.size, `${name}: ${(m.growth / 1048576).toFixed(1)} MiB over the peak for a module of ${(m.size / 1048576).toFixed(1)} MiB`);
    }
    assert.equal(empties.code, 'unsigned');
    assert.equal(delimiters.code, 'mismatch');
    assert.match(delimiters.reason, /has 1000000 parts; a signature covers at most 64/);
  });
});
