// `warden inspect` and the hardening pass recognise guards from the code
// itself: tagged trap arms alone (which a publisher could ship to look
// hardened) do not count; a check removed from one site makes the pass
// partial; a module that is not valid as shipped is refused before rewriting.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { inspect } from '../../src/audit/inspect.js';
import { hardenModule, HardenError, HARDEN_PASSES } from '../../src/transform/harden.js';
import { guardTrapOffsets } from '../../src/transform/harden-guards.js';
import { recogniseHardening } from '../../src/transform/harden-recognise.js';
import { repoRoot } from '../helpers/paths.js';
import { wat } from '../helpers/wat.js';

const wimg = new Uint8Array(readFileSync(join(repoRoot, 'examples', 'vulnerable-decoder', 'wimg.wasm')));


describe('recognising hardening', () => {
  it('inspect: none before, every applied pass verified after, and which passes would apply', () => {
    const before = inspect(decodeModule(wimg)).memorySafety;
    assert.deepEqual(before.hardening, []);
    assert.deepEqual(before.hardeningApplicable, ['stack', 'null', 'rodata']);
    const hardened = hardenModule(decodeModule(wimg), { passes: ['stack', 'null', 'rodata'] }).bytes;
    const after = inspect(decodeModule(hardened)).memorySafety;
    assert.deepEqual(after.hardening.map((h) => [h.pass, h.status]), [['stack', 'verified'], ['null', 'verified'], ['rodata', 'verified']]);
    assert.deepEqual(after.hardeningApplicable, []);
  });

  it('tagged trap arms that guard no site (a forged look of hardening) are not a pass', async () => {
    // The trap arm exactly as the passes emit it (if; i32.const TAG; drop; unreachable; end), but in front of nothing.
    const arm = (tag: number) => `(if (i32.eqz (local.get 0)) (then (drop (i32.const ${tag})) (unreachable)))`;
    const bytes = await wat(`(module (memory (export "memory") 1)
      (func (export "_start") (local i32) ${arm(0x57470002)} ${arm(0x57470003)} (i32.store (i32.const 8) (i32.load (i32.const 4)))))`);
    const module = decodeModule(bytes);
    const code = module.sections.find((x) => x.id === 10)!;
    assert.equal(guardTrapOffsets(bytes, code.payloadStart, code.end).length, 4, 'the arms themselves are found (each at its if and its unreachable)');
    assert.deepEqual(recogniseHardening(module).passes, { stack: null, null: null, rodata: null, bulk: null }, 'but no site is checked');
    // Hardening it for real adds the checks and then recognises the pass.
    const real = hardenModule(module, { passes: ['null'] });
    assert.equal(real.passes[0]!.status, 'applied');
    assert.equal(recogniseHardening(decodeModule(real.bytes)).passes.null?.verified, true);
  });

  it('a check removed from one site makes the pass partial, not verified', () => {
    const hardened = hardenModule(decodeModule(wimg), { passes: ['null'] }).bytes;
    const module = decodeModule(hardened);
    // Turn the first trap arm's `unreachable` into a nop: the site stays, its check no longer traps.
    const code = module.sections.find((x) => x.id === 10)!;
    const [unreachableAt] = guardTrapOffsets(hardened, code.payloadStart, code.end)[0]!;
    assert.equal(hardened[unreachableAt], 0x00);
    const tampered = new Uint8Array(hardened);
    tampered[unreachableAt] = 0x01; // nop
    assert.ok(WebAssembly.validate(tampered));
    const coverage = recogniseHardening(decodeModule(tampered)).passes.null!;
    assert.equal(coverage.verified, false);
    assert.equal(coverage.guarded, coverage.sites - 1);
    assert.match(inspect(decodeModule(tampered)).memorySafety.hardening[0]!.status, /partial/);
  });

  it('a forged wrapper that parks a value in a proved address local does not extend the proof', async () => {
    const nullCheck = (l: string) => `local.get ${l} i32.const 0 i32.sub i32.const 1024 i32.lt_u (if (then i32.const ${0x57470002} drop unreachable))`;
    const bytes = await wat(`(module (memory (export "memory") 1)
      (func (export "_start") (local $x i32) (local $l i32)
        (local.set $x (i32.const 2048))
        local.get $x local.set $l ${nullCheck('$l')} local.get $l i32.load drop
        i32.const 4096 i32.const 0 local.set $x local.set $l ${nullCheck('$l')} local.get $l local.get $x i32.store
        local.get $x i32.load drop))`);
    assert.ok(WebAssembly.validate(bytes));
    const coverage = recogniseHardening(decodeModule(bytes)).passes.null!;
    assert.equal(coverage.sites, 3);
    assert.equal(coverage.guarded, 2, 'the last load reads through $x, which the store\'s wrapper overwrote');
    assert.equal(coverage.verified, false);
  });

  it('checks weaker than the pass asked for do not pass for it: the pass is applied over them and the attack traps', async () => {
    // Every site carries a check of the right shape and tag, but against a range that protects almost nothing.
    const trap = (tag: number) => `(if (then i32.const ${tag} drop unreachable))`;
    const check = (l: string, lo: number, span: number, tag: number) => `local.get ${l} i32.const ${lo} i32.sub i32.const ${span} i32.lt_u ${trap(tag)}`;
    const bulkCheck = (start: number, end: number) => `local.get $d i64.extend_i32_u local.get $n i64.extend_i32_u i64.add i64.const ${start} i64.gt_u
      local.get $d i32.const ${end} i32.lt_u i32.and local.get $n i32.const 0 i32.ne i32.and ${trap(0x57470002)}`;
    const module = (body: string) => wat(`(module (memory (export "memory") 1)
      (global $sp (mut i32) (i32.const 65536)) (data (i32.const 1024) "constant")
      (func (export "_start") (local $l i32) (local $v i32) (local $d i32) (local $n i32) ${body}))`);
    const cases = [
      // A store at 16 under a null "guard" of 1 byte.
      { pass: 'null' as const, bytes: await module(`i32.const 16 i32.const 7 local.set $v local.set $l ${check('$l', 0, 1, 0x57470002)} local.get $l local.get $v i32.store`) },
      // The stack pointer set to 2048, far below the end of static data, under a "guard" of 1 byte.
      { pass: 'stack' as const, bytes: await module(`i32.const 2048 local.set $l ${check('$l', 0, 1, 0x57470001)} local.get $l global.set $sp`) },
      // A store into the constant range [1024, 1032) under a "guard" of [4000, 4001).
      { pass: 'rodata' as const, bytes: await module(`i32.const 1024 i32.const 7 local.set $v local.set $l ${check('$l', 3997, 4, 0x57470003)} local.get $l local.get $v i32.store`) },
      // A fill of the null page under a bulk "guard" of the empty range [0, 0).
      { pass: 'bulk' as const, bytes: await module(`i32.const 0 i32.const 7 i32.const 64 local.set $n local.set $v local.set $d ${bulkCheck(0, 0)} local.get $d local.get $v local.get $n memory.fill`) },
    ];
    for (const { pass, bytes } of cases) {
      assert.ok(WebAssembly.validate(bytes), pass);
      assert.equal(recogniseHardening(decodeModule(bytes)).passes[pass]?.verified, true, `${pass}: every site carries a check`);
      // inspect does not read them as hardened either (the rodata case names no .rodata segment: nothing to compare with).
      if (pass !== 'rodata') assert.equal(inspect(decodeModule(bytes)).memorySafety.hardening.find((h) => h.pass === pass)?.status, 'partial', pass);
      const run = (b: Uint8Array) => (new WebAssembly.Instance(new WebAssembly.Module(b)).exports._start as () => void)();
      assert.doesNotThrow(() => run(bytes), `${pass}: the forged check lets the attack through`);
      const hardened = hardenModule(decodeModule(bytes), { passes: [pass], rodataRange: { start: 1024, end: 1032 } });
      assert.equal(hardened.passes[0]!.status, 'applied', `${pass}: ${JSON.stringify(hardened.passes)}`);
      assert.throws(() => run(hardened.bytes), /unreachable/, `${pass}: hardened for real, the attack traps`);
      const again = hardenModule(decodeModule(hardened.bytes), { passes: [pass], rodataRange: { start: 1024, end: 1032 } });
      assert.equal(again.passes[0]!.status, 'present', `${pass}: the real checks are recognised`);
      if (pass !== 'rodata') assert.equal(inspect(decodeModule(hardened.bytes)).memorySafety.hardening.find((h) => h.pass === pass)?.status, 'verified', pass);
      assert.ok(Buffer.from(again.bytes).equals(Buffer.from(hardened.bytes)), `${pass}: hardening again changes nothing`);
    }
  });

  it('a bulk check on the wrong operands is no check', async () => {
    // The shape of a bulk check, but comparing the count where the destination belongs: no protection of [0, 1024).
    const bytes = await wat(`(module (memory 1) (func (export "_start") (local $d i32) (local $v i32) (local $n i32)
      i32.const 0 i32.const 7 i32.const 64 local.set $n local.set $v local.set $d
      local.get $d i64.extend_i32_u local.get $n i64.extend_i32_u i64.add i64.const 0 i64.gt_u
      local.get $n i32.const 1024 i32.lt_u i32.and local.get $n i32.const 0 i32.ne i32.and
      (if (then i32.const ${0x57470002} drop unreachable))
      local.get $d local.get $v local.get $n memory.fill))`);
    assert.ok(WebAssembly.validate(bytes));
    assert.equal(recogniseHardening(decodeModule(bytes)).passes.bulk, null);
  });

  it('refuses a module that is not valid as shipped, and says why a pass cannot apply', async () => {
    const invalid = await wat('(module (memory 1) (func (export "_start") (global.set 0 (i32.const 1))))');
    assert.throws(() => hardenModule(decodeModule(invalid), { passes: ['null'] }), (e: unknown) => e instanceof HardenError && /not a valid module/.test(e.message));
    const noMemory = await wat('(module (func (export "_start")))');
    assert.throws(() => hardenModule(decodeModule(noMemory), { passes: ['null'] }), /no memory/);
    const stackFirst = new Uint8Array(readFileSync(join(repoRoot, 'test', 'fixtures', 'c', 'layout_stack_first.wasm')));
    assert.throws(() => hardenModule(decodeModule(stackFirst), { passes: ['stack'] }), /stack-first/);
    const lenient = hardenModule(decodeModule(stackFirst), { passes: HARDEN_PASSES, lenient: true });
    assert.equal(lenient.passes.find((p) => p.pass === 'stack')?.status, 'not-applicable');
    const lowData = await wat('(module (memory 1) (data (i32.const 16) "x") (func (export "_start") (drop (i32.load (i32.const 16)))))');
    assert.throws(() => hardenModule(decodeModule(lowData), { passes: ['null'] }), /below the guard size/);
    assert.equal(hardenModule(decodeModule(lowData), { passes: ['null'], nullSize: 16 }).passes[0]!.status, 'applied');
  });

  it('SIMD memory accesses are refused, not left unchecked', async () => {
    const simd = await wat('(module (memory 1) (func (export "_start") (v128.store (i32.const 2048) (v128.load (i32.const 4096)))))');
    assert.throws(() => hardenModule(decodeModule(simd), { passes: ['null'] }), /SIMD/);
  });
});


describe('the library entry', () => {
  it('exports the hardening API', async () => {
    const warden = await import('../../src/index.js');
    const result = warden.hardenModule(warden.decodeModule(wimg), { passes: ['rodata'] });
    assert.equal(result.passes[0]!.status, 'applied');
    assert.equal(warden.recogniseHardening(warden.decodeModule(result.bytes)).passes.rodata?.verified, true);
    assert.deepEqual(warden.HARDEN_PASSES, ['stack', 'null', 'rodata', 'bulk']);
    assert.ok(warden.TRAP_KINDS.includes('rodata-write'));
  });
});
