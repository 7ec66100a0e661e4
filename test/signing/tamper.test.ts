// The mutation test: every class of tampering with a signed module (in three
// parts, so delimiters are attacked too) is refused, with a reason: byte flips
// across every region, truncation at every section boundary (delimiters
// included) and inside sections, a section inserted at every position (plain
// custom sections, delimiters, and copies of the signature), each section
// removed, adjacent sections swapped, the signature moved to every position,
// the header changed. The same for a detached signature. Plus: random
// signature payloads give a clean refusal, never an exception.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readSections } from '../../src/binary/sections.js';
import { customPayload, encodeCustomSection, parseSignatureData, SignatureFormatError } from '../../src/signing/format.js';
import { secretKeyFromSeed, type PublicKey } from '../../src/signing/keys.js';
import { delimiterSection, signModule } from '../../src/signing/sign.js';
import { verifyModule, type VerifyOptions } from '../../src/signing/verify.js';
import { fixture } from '../helpers/paths.js';
import { fixedDelimiters, seedA, seedB } from './vectors.js';

const concat = (...parts: Uint8Array[]) => Buffer.concat(parts);
const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));

/** Every tampered variant of `signed` (framed as `sections`), named. */
function* variants(signed: Uint8Array): Generator<[string, Uint8Array]> {
  const sections = readSections(signed);
  const raw = sections.map((s) => signed.subarray(s.start, s.end));
  const header = signed.subarray(0, 8);
  const firstSigned = sections[0]!.name === 'signature' ? sections[1]?.start ?? signed.length : 8;
  // Flips: every bit position cycles; every byte of the header, of the signature section and of
  // each section's first 64 bytes (ids, sizes, names), then a stride of 5 through the rest.
  const dense = new Set<number>();
  for (const s of sections) for (let i = s.start; i < Math.min(s.end, s.start + 64); i++) dense.add(i);
  for (let i = 0; i < signed.length; i++) {
    if (!(i < firstSigned || dense.has(i) || i % 5 === 0)) continue;
    const v = signed.slice();
    v[i]! ^= 1 << (i % 8);
    yield [`flip byte ${i}`, v];
  }
  yield ['flip the last byte', Uint8Array.from(signed, (b, i) => (i === signed.length - 1 ? b ^ 0x80 : b))];
  // Truncation at every section boundary and inside every section; a byte appended.
  for (const s of sections) {
    if (s.start > 8) yield [`truncate at ${s.start} (before section ${sections.indexOf(s)})`, signed.subarray(0, s.start)];
    yield [`truncate inside the section at ${s.start}`, signed.subarray(0, (s.start + s.end) >> 1)];
  }
  yield ['header only', signed.subarray(0, 8)];
  yield ['one byte appended', concat(signed, Uint8Array.of(0))];
  // Insertions at every position: a custom section, a delimiter, a copy of the signature section.
  const inserts: Array<[string, Uint8Array]> = [
    ['custom section', encodeCustomSection('extra', Uint8Array.of(1, 2, 3))],
    ['empty custom section', encodeCustomSection('', new Uint8Array(0))],
    ['delimiter', delimiterSection(new Uint8Array(16).fill(0xee))],
    ['copy of the signature section', raw[0]!],
    ['copy of the last section', raw[raw.length - 1]!],
  ];
  for (const [what, section] of inserts) {
    for (let i = 0; i <= raw.length; i++) yield [`insert a ${what} at ${i}`, concat(header, ...raw.slice(0, i), section, ...raw.slice(i))];
  }
  // Removal, swaps, and the signature moved to every other position.
  for (let i = 0; i < raw.length; i++) yield [`remove section ${i}`, concat(header, ...raw.filter((_, j) => j !== i))];
  for (let i = 0; i + 1 < raw.length; i++) {
    const swapped = raw.slice();
    [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
    yield [`swap sections ${i} and ${i + 1}`, concat(header, ...swapped)];
  }
  for (let i = 1; i < raw.length; i++) {
    const rest = raw.slice(1);
    yield [`signature moved to position ${i}`, concat(header, ...rest.slice(0, i), raw[0]!, ...rest.slice(i))];
  }
  // The header: other versions and a component layer, with the rest untouched.
  for (const h of [[0, 0x61, 0x73, 0x6d, 2, 0, 0, 0], [0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0], [0, 0x61, 0x73, 0x6e, 1, 0, 0, 0]]) {
    yield [`header ${Buffer.from(h).toString('hex')}`, concat(Uint8Array.from(h), ...raw)];
  }
}

function acceptedVariants(signed: Uint8Array, keys: PublicKey[], options: VerifyOptions = {}): { tried: number; accepted: string[]; reasonless: string[] } {
  let tried = 0;
  const accepted: string[] = [];
  const reasonless: string[] = [];
  for (const [name, v] of variants(signed)) {
    tried++;
    const result = verifyModule(v, keys, options);
    if (result.ok) accepted.push(name);
    else if (!result.reason) reasonless.push(name);
  }
  return { tried, accepted, reasonless };
}

describe('tampered signed modules', () => {
  const a = secretKeyFromSeed(seedA);
  const b = secretKeyFromSeed(seedB);
  // Three parts: delimiters after the type and import sections, and at the end; two signers.
  const inParts = signModule(hello, a, { delimiters: [0, 1], delimiterPayload: fixedDelimiters }).module;
  const signed = signModule(inParts, b).module;

  it('the untouched module verifies, in three parts, by both signers', () => {
    const result = verifyModule(signed, [a.publicKey, b.publicKey], { requirement: { threshold: 2 } });
    assert.equal(result.ok, true, result.reason);
    assert.equal(result.parts, 3);
  });

  it('accepts none of the tampered variants of an embedded signature, one signer', (t) => {
    const { tried, accepted, reasonless } = acceptedVariants(inParts, [a.publicKey, b.publicKey]);
    t.diagnostic(`${tried} variants tried, ${accepted.length} accepted`);
    assert.deepEqual(accepted, []);
    assert.deepEqual(reasonless, []);
    assert.ok(tried > 5000, `${tried} variants`);
  });

  it('accepts none of the tampered variants of a module with two signers, both required', (t) => {
    const { tried, accepted, reasonless } = acceptedVariants(signed, [a.publicKey, b.publicKey], { requirement: { threshold: 2 } });
    t.diagnostic(`${tried} variants tried, ${accepted.length} accepted`);
    assert.deepEqual(accepted, []);
    assert.deepEqual(reasonless, []);
  });

  it('with two signers and one required, accepts only a rewritten key id of the other signer', (t) => {
    // (A record that names a trusted key must verify with it, whatever its algorithm byte says.)
    // A key id is a hint outside what is signed: rewritten, that record reads as an unknown
    // signer's, while the other trusted signature still covers every byte of the module.
    const original = parseSignatureData(customPayload(signed, readSections(signed)[0]!));
    const { tried, accepted } = acceptedVariants(signed, [a.publicKey, b.publicKey]);
    let keyIdOnly = 0;
    for (const [name, v] of variants(signed)) {
      if (!accepted.includes(name)) continue;
      const first = readSections(v)[0]!;
      const sets = parseSignatureData(customPayload(v, first));
      assert.equal(Buffer.compare(v.subarray(first.end), signed.subarray(readSections(signed)[0]!.end)), 0, name);
      assert.equal(sets.length, 1, name);
      assert.deepEqual(sets[0]!.hashes, original[0]!.hashes, name);
      assert.deepEqual(sets[0]!.signatures.map((s) => s.signature), original[0]!.signatures.map((s) => s.signature), name);
      assert.equal(sets[0]!.signatures.filter((s, i) => Buffer.compare(s.keyId ?? new Uint8Array(0), original[0]!.signatures[i]!.keyId!) !== 0).length, 1, name);
      keyIdOnly++;
    }
    t.diagnostic(`${tried} variants tried, ${accepted.length} accepted, each a rewritten key id of the other signer`);
    assert.equal(keyIdOnly, accepted.length);
  });

  it('accepts none of the tampered variants of a module with a detached signature', (t) => {
    const detached = signModule(hello, a, { delimiters: [0, 1], delimiterPayload: fixedDelimiters, detached: true });
    const options = { detached: detached.signature };
    assert.equal(verifyModule(detached.module, [a.publicKey], options).ok, true);
    const { tried, accepted } = acceptedVariants(detached.module, [a.publicKey], options);
    t.diagnostic(`${tried} variants tried, ${accepted.length} accepted`);
    assert.deepEqual(accepted, []);
    // And every flip of the detached signature itself.
    let flips = 0;
    for (let i = 0; i < detached.signature.length; i++) {
      const sig = detached.signature.slice();
      sig[i]! ^= 1 << (i % 8);
      flips++;
      assert.equal(verifyModule(detached.module, [a.publicKey], { detached: sig }).ok, false, `flip ${i} of the detached signature`);
    }
    t.diagnostic(`${flips} detached-signature flips tried, 0 accepted`);
  });

  it('names the reason: truncated at a delimiter (which wasmsign2 accepts), appended, modified, misplaced', () => {
    const sections = readSections(signed);
    const delimiters = sections.filter((s) => s.name === 'signature_delimiter');
    for (const d of delimiters.slice(0, -1)) {
      assert.match(verifyModule(signed.subarray(0, d.end), [a.publicKey]).reason!, /truncated: the signature covers 3 parts/);
    }
    const appended = concat(signed, encodeCustomSection('late', Uint8Array.of(1)));
    assert.match(verifyModule(appended, [a.publicKey]).reason!, /added after the signed content: the signature covers 3 of the module's 4 parts/);
    const flipped = signed.slice();
    flipped[sections[1]!.end - 1]! ^= 1; // inside the type section's payload
    assert.match(verifyModule(flipped, [a.publicKey]).reason!, /part 1 of 3 does not match/);
    const moved = concat(signed.subarray(0, 8), signed.subarray(sections[1]!.start, sections[1]!.end), signed.subarray(sections[0]!.start, sections[0]!.end), signed.subarray(sections[1]!.end));
    assert.equal(verifyModule(moved, [a.publicKey]).reason, 'the signature section is not the first section');
    const doubled = concat(signed.subarray(0, sections[0]!.end), signed.subarray(sections[0]!.start));
    assert.equal(verifyModule(doubled, [a.publicKey]).reason, 'more than one signature section');
  });

  it('gives a clean refusal, never an exception, for any signature payload (fixed seed)', () => {
    const payload = signModule(hello, a, { detached: true }).signature;
    const unsigned = hello.subarray(8);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(payload.length), fc.nat(payload.length), (junk, cut, at) => {
      const spliced = concat(payload.subarray(0, cut), junk, payload.subarray(Math.max(cut, at)));
      for (const bytes of [junk, spliced, concat(Uint8Array.of(1, 1, 1), junk)]) {
        try {
          parseSignatureData(bytes);
        } catch (error) {
          assert.ok(error instanceof SignatureFormatError, String(error));
        }
        const embedded = verifyModule(concat(hello.subarray(0, 8), encodeCustomSection('signature', bytes), unsigned), [a.publicKey]);
        const detached = verifyModule(hello, [a.publicKey], { detached: bytes });
        for (const result of [embedded, detached]) {
          if (Buffer.compare(bytes, payload) !== 0) assert.equal(result.ok, false);
          if (!result.ok) assert.ok(result.reason && result.reason.length > 0);
        }
      }
    }), { seed: 5, numRuns: 400 });
  });

  it('gives a clean refusal for random bytes as a module', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
      const result = verifyModule(concat(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0), junk), [a.publicKey]);
      assert.equal(result.ok, false);
      assert.ok(result.reason);
    }), { seed: 6, numRuns: 300 });
  });
});
