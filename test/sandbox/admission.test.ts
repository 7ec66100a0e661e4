import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { parsePolicy } from '../../src/policy/load.js';
import { admit, impliedImports } from '../../src/sandbox/admission.js';
import fc from 'fast-check';
import { WasmDecodeError } from '../../src/binary/errors.js';
import { ADMISSION_RULES } from '../../src/sandbox/admission.js';
import { repoRoot } from '../helpers/paths.js';
import { fixture } from '../helpers/paths.js';
import { wat, watFixture } from '../helpers/wat.js';

const rules = (bytes: Uint8Array, policy: Record<string, unknown> = {}, digest = 'sha256:x') =>
  admit(decodeModule(bytes), parsePolicy(policy), () => digest).violations.map((v) => v.rule);

describe('admission', () => {
  it('admits hello under the empty policy: it imports only stdio, args and exit', () => {
    assert.deepEqual(rules(new Uint8Array(readFileSync(fixture('c', 'hello.wasm')))), []);
  });

  it('grants imply imports: filesystem only with a mount, clocks only with a clock', async () => {
    const fs = await wat('(module (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32))) (memory 1) (func (export "_start")))');
    assert.deepEqual(rules(fs), ['import-not-granted']);
    assert.deepEqual(rules(fs, { mount: [{ kind: 'tmpfs', guest: '/t' }] }), []);
    assert.deepEqual(rules(fs, { imports: { allow: ['path_open'] } }), []);
    const clock = await wat('(module (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32))) (memory 1) (func (export "_start")))');
    assert.deepEqual(rules(clock), ['import-not-granted']);
    assert.deepEqual(rules(clock, { clock: 'coarse' }), []);
    assert.ok(impliedImports(parsePolicy({})).has('fd_write'));
    assert.ok(!impliedImports(parsePolicy({})).has('sock_accept'));
  });

  it('refuses sockets under any grant', async () => {
    const sock = await wat('(module (import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32))) (memory 1) (func (export "_start")))');
    assert.deepEqual(rules(sock, { mount: [{ kind: 'tmpfs', guest: '/t' }], clock: 'real', random: 'os' }), ['import-not-granted']);
  });

  it('refuses disallowed features found in code', async () => {
    const simd = await wat('(module (memory 1) (func (export "_start") v128.const i32x4 0 0 0 0 drop))');
    assert.deepEqual(rules(simd), []);
    assert.deepEqual(rules(simd, { features: { simd: false } }), ['feature-not-allowed']);
  });

  it('refuses a disallowed feature only declared in a local, named at the first body declaring it', async () => {
    // No instruction of the proposal: the local declarations alone use it.
    const bytes = await wat('(module (memory 1) (func (export "_start")) (func (local i32 i64)) (func (local i32) (local v128)) (func (local v128)))');
    assert.deepEqual(rules(bytes), []);
    const module = decodeModule(bytes);
    const refused = admit(module, parsePolicy({ features: { simd: false } }), () => 'sha256:x').violations;
    assert.deepEqual(refused.map((v) => v.rule), ['feature-not-allowed']);
    assert.equal(refused[0]!.offset, module.code[2]!.start, 'the first body with a v128 local');
    assert.deepEqual(rules(await wat('(module (memory 1) (func (export "_start") (local externref)))'), { features: { 'reference-types': false } }), ['feature-not-allowed']);
  });

  it('enforces sizes, pins and the command shape', async () => {
    const big = await wat('(module (memory 100) (table 50 funcref) (func (export "_start")) (data (i32.const 0) "0123456789"))');
    assert.deepEqual(rules(big, { limits: { memory: '1MiB', 'table-elements': 10, data: 5, functions: 0 } }).sort(), ['data-too-large', 'memory-too-large', 'table-too-large', 'too-many-functions']);
    const lib = await wat('(module (memory 1) (func (export "run")))');
    assert.deepEqual(rules(lib), ['not-a-command']);
    const pin = `sha256:${'b'.repeat(64)}`;
    assert.deepEqual(rules(lib, { trust: { pins: [pin] } }, pin), ['not-a-command']);
    assert.deepEqual(rules(lib, { trust: { pins: [pin] } }, `sha256:${'c'.repeat(64)}`), ['digest-not-pinned', 'not-a-command']);
  });
});

describe('admission rules, one fixture each', () => {
  const verdict = (bytes: Uint8Array, policy: Record<string, unknown> = {}) => admit(decodeModule(bytes, { validateBodies: false }), parsePolicy(policy), () => 'sha256:x');

  it('refuses each kind of import it cannot grant, naming the import and its offset', async () => {
    const bytes = await watFixture('policy-imports');
    const { admitted, violations } = verdict(bytes, { mount: [{ kind: 'tmpfs', guest: '/t' }], clock: 'real', random: 'os' });
    assert.equal(admitted, false);
    assert.deepEqual(violations.map((v) => v.rule), [
      'import-unknown-module', 'import-unknown-function', 'import-not-granted', 'import-signature-mismatch', 'import-non-function', 'import-non-function',
    ]);
    assert.match(violations[0]!.message, /env\.now/);
    assert.match(violations[2]!.message, /sock_accept/);
    assert.match(violations[3]!.message, /fd_write .*\(i32, i32, i32, i32\) -> \(i32\)/);
    const module = decodeModule(bytes);
    const importSection = module.sections.find((s) => s.id === 2)!;
    for (const v of violations) assert.ok(v.offset! >= importSection.payloadStart && v.offset! < importSection.end, `${v.rule} at ${v.offset}`);
    // imports.allow lists a function no grant implies; the other refusals stand.
    assert.ok(!verdict(bytes, { imports: { allow: ['sock_accept'] } }).violations.some((v) => v.rule === 'import-not-granted'));
  });

  it('refuses shared memory and atomics even when the policy turns threads on', async () => {
    const bytes = await watFixture('policy-threads');
    for (const policy of [{}, { features: { threads: true } }]) {
      const rules = verdict(bytes, policy).violations.map((v) => v.rule);
      assert.ok(rules.includes('shared-memory') && rules.includes('atomics'), rules.join());
    }
  });

  it('refuses proposals the policy does not allow, and admits them when it does', async () => {
    const bytes = await watFixture('policy-features');
    const messages = verdict(bytes).violations.filter((v) => v.rule === 'feature-not-allowed').map((v) => v.message).join('\n');
    for (const feature of ['exceptions-legacy', 'multi-memory', 'memory64']) assert.match(messages, new RegExp(`uses ${feature},`));
    const twoMemories = { memories: 2 };
    assert.deepEqual(verdict(bytes, { features: { 'exceptions-legacy': true, 'multi-memory': true, memory64: true }, limits: twoMemories }).violations, []);
    assert.equal(verdict(bytes, { features: { 'exceptions-legacy': true, 'multi-memory': true }, limits: twoMemories }).violations.length, 1);
  });

  it('refuses exports under the name the rewriter reserves for the fuel counter', async () => {
    assert.deepEqual(verdict(await watFixture('policy-reserved')).violations.map((v) => v.rule), ['export-reserved']);
  });

  it('admits the C programs under the empty policy: libc without files imports no path_ or clock function', () => {
    for (const name of ['hello', 'bench/sha256', 'bench/compress']) {
      assert.deepEqual(verdict(new Uint8Array(readFileSync(fixture('c', `${name}.wasm`)))).violations, [], name);
    }
  });

  it('documents every rule id in docs/policy.md', () => {
    const doc = readFileSync(`${repoRoot}/docs/policy.md`, 'utf8');
    for (const rule of ADMISSION_RULES) assert.ok(doc.includes(`| \`${rule}\` |`), `${rule} is not in docs/policy.md`);
  });

  it('on mutated modules, either decides or reports a decoding error: nothing else escapes', async () => {
    const seeds = [await watFixture('policy-imports'), await watFixture('policy-features'), new Uint8Array(readFileSync(fixture('c', 'hello.wasm')))];
    fc.assert(fc.property(fc.nat(seeds.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), (which, flips) => {
      const bytes = Uint8Array.from(seeds[which]!);
      for (const [at, value] of flips) bytes[8 + (at % (bytes.length - 8))] = value;
      try {
        const result = verdict(bytes);
        for (const v of result.violations) assert.ok((ADMISSION_RULES as readonly string[]).includes(v.rule));
      } catch (error) {
        if (!(error instanceof WasmDecodeError)) throw error;
      }
    }), { seed: 21, numRuns: 400 });
  });
});

describe('trust', () => {
  it('refuses unsigned and untrusted modules before decoding them, and admits trusted ones', async () => {
    const { createSandbox } = await import('../../src/sandbox/sandbox.js');
    const { AdmissionError } = await import('../../src/sandbox/prepare.js');
    const { encodePublicKey, generateSecretKey } = await import('../../src/signing/keys.js');
    const { signModule } = await import('../../src/signing/sign.js');
    const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));
    const trusted = generateSecretKey();
    const stranger = generateSecretKey();
    const key = `base64:${Buffer.from(encodePublicKey(trusted.publicKey)).toString('base64')}`;
    const sandbox = await createSandbox({ trust: { keys: [key] } });
    try {
      const rule = async (bytes: Uint8Array) => {
        try {
          await sandbox.run(bytes);
          return 'admitted';
        } catch (error) {
          assert.ok(error instanceof AdmissionError);
          return error.violations.map((v) => v.rule).join(',');
        }
      };
      assert.equal(await rule(hello), 'unsigned');
      assert.equal(await rule(signModule(hello, stranger).module), 'signature-untrusted');
      // Garbage after a valid signature section is refused by the signature check, not the decoder.
      const signed = signModule(hello, trusted).module;
      assert.equal(await rule(Uint8Array.from([...signed, 0xff, 0xff])), 'signature-untrusted');
      assert.equal(await rule(signed), 'admitted');
    } finally {
      await sandbox.close();
    }
    assert.throws(() => parsePolicy({ trust: { keys: [key], require: 2 } }), /trust\.require: needs 2 signers/);
    assert.throws(() => parsePolicy({ trust: { keys: ['base64:AAAA'] } }), /trust\.keys\[0\]/);
  });
});
