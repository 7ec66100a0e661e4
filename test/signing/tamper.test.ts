// Every class of tampering with a signed module (with delimiters) is refused:
// byte flips across every region, truncation at every section boundary,
// inserted, removed, reordered and duplicated sections, a moved signature.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readSections } from '../../src/binary/sections.js';
import { parseSignatureData } from '../../src/signing/format.js';
import { parsePublicKey, secretKeyFromSeed } from '../../src/signing/keys.js';
import { signModule } from '../../src/signing/sign.js';
import { verifyModule } from '../../src/signing/verify.js';
import { fixture } from '../helpers/paths.js';
import { seedA, withDelimiters } from './vectors.js';

const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

describe('tampered signed modules', () => {
  const key = secretKeyFromSeed(seedA);
  const trusted = [key.publicKey];
  const signed = signModule(withDelimiters(new Uint8Array(readFileSync(fixture('c', 'hello.wasm')))), key).module;
  const sections = readSections(signed);
  const raw = sections.map((s) => signed.subarray(s.start, s.end));
  const header = signed.subarray(0, 8);

  it('the untouched module verifies', () => assert.equal(verifyModule(signed, trusted).ok, true));

  it('accepts none of thousands of variants', () => {
    const variants: Array<[string, Uint8Array]> = [];
    // Flips: every byte of the header and of the signature section, a stride through the rest.
    for (let i = 0; i < signed.length; i += i < sections[1]!.start ? 1 : 7) {
      const v = signed.slice();
      v[i]! ^= 1 << (i % 8);
      variants.push([`flip ${i}`, v]);
    }
    // Truncation at every section boundary (delimiters included) and mid-section.
    for (const s of sections) {
      variants.push([`truncate at ${s.start}`, signed.subarray(0, s.start)]);
      variants.push([`truncate mid ${s.start}`, signed.subarray(0, (s.start + s.end) >> 1)]);
    }
    // An extra custom section at every position.
    const extra = Uint8Array.from([0, 4, 3, 0x61, 0x62, 0x63]);
    for (let i = 0; i <= raw.length; i++) variants.push([`insert at ${i}`, concat(header, ...raw.slice(0, i), extra, ...raw.slice(i))]);
    // Each section removed; adjacent sections swapped.
    for (let i = 0; i < raw.length; i++) variants.push([`remove ${i}`, concat(header, ...raw.filter((_, j) => j !== i))]);
    for (let i = 0; i + 1 < raw.length; i++) {
      const swapped = raw.slice();
      [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
      variants.push([`swap ${i}`, concat(header, ...swapped)]);
    }
    // The signature section duplicated, or moved after the first section.
    variants.push(['duplicate signature', concat(header, raw[0]!, raw[0]!, ...raw.slice(1))]);
    variants.push(['signature moved', concat(header, raw[1]!, raw[0]!, ...raw.slice(2))]);
    variants.push(['signature at the end', concat(header, ...raw.slice(1), raw[0]!)]);
    variants.push(['header version changed', concat(Uint8Array.of(0, 0x61, 0x73, 0x6d, 2, 0, 0, 0), ...raw)]);
    const accepted = variants.filter(([, v]) => verifyModule(v, trusted).ok).map(([name]) => name);
    assert.deepEqual(accepted, []);
    assert.ok(variants.length > 3000, `${variants.length} variants`);
  });

  it('refuses a module truncated at a delimiter, which wasmsign2 itself accepts', () => {
    const delimiterEnd = sections.find((s) => s.name === 'signature_delimiter')!.end;
    const result = verifyModule(signed.subarray(0, delimiterEnd), trusted);
    assert.equal(result.ok, false);
    assert.match(result.reason!, /truncated/);
  });

  it('parses arbitrary signature payloads into a value or a clean refusal', () => {
    const payload = signed.subarray(sections[0]!.payloadStart + 10, sections[0]!.end);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(payload.length), (junk, cut) => {
      for (const bytes of [junk, Uint8Array.from([...payload.subarray(0, cut), ...junk])]) {
        try {
          parseSignatureData(bytes);
        } catch (error) {
          assert.equal((error as Error).name, 'SignatureFormatError');
        }
        const result = verifyModule(concat(header, Uint8Array.of(0, ...[bytes.length + 10 < 128 ? bytes.length + 10 : 0]), new TextEncoder().encode('\tsignature'), bytes, ...raw.slice(1)), trusted);
        assert.equal(result.ok, false);
      }
    }), { seed: 3, numRuns: 500 });
  });

  it('refuses bad keys with a reason', () => {
    assert.throws(() => parsePublicKey(Uint8Array.of(0x81, ...new Uint8Array(64))), /secret key/);
    assert.throws(() => parsePublicKey(Uint8Array.of(0x02, ...new Uint8Array(32))), /unknown key type/);
    assert.throws(() => parsePublicKey(Uint8Array.of(0x01, 1, 2)), /33 bytes/);
    assert.throws(() => parsePublicKey(new TextEncoder().encode('-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n')), /PEM/);
  });
});
