// Ordinary C memory bugs (test/fixtures/c/harden_bugs.c, one per mode), run
// plain and hardened at admission, as docs/memory-safety.md promises: the bug
// classes a pass covers trap with its kind where the plain module goes on
// silently; the classes it lists as not stopped run the same hardened; a
// correct run gives the same output.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compileGrant } from '../../src/policy/compile-grant.js';
import { parsePolicy } from '../../src/policy/load.js';
import { execute } from '../../src/sandbox/execute.js';
import { prepare } from '../../src/sandbox/prepare.js';
import type { HardenPassName } from '../../src/transform/harden.js';
import { fixture } from '../helpers/paths.js';

const bugs = new Uint8Array(readFileSync(fixture('c', 'harden_bugs.wasm')));
const ALL: HardenPassName[] = ['stack', 'null', 'rodata', 'bulk'];
const INTACT = 'verdict: clean | static marker intact\n';

function run(args: string[], harden: HardenPassName[] = []) {
  const policy = parsePolicy({ harden });
  const prepared = prepare(bugs, policy);
  const grant = compileGrant(policy, { args: ['harden_bugs', ...args] }, () => { throw new Error('no scratch'); });
  const r = execute({ module: new WebAssembly.Module(prepared.bytes as BufferSource), grant, fuel: null, watchdog: true, guards: prepared.guards, writeGuarded: prepared.writeGuarded });
  return { exitCode: r.exitCode, trap: r.trap?.kind ?? null, message: r.trap?.message ?? '', stdout: Buffer.from(r.stdout).toString() };
}

describe('C memory bugs the passes cover trap with their kind; plain, they go unnoticed', () => {
  const cases: Array<{ args: string[]; pass: HardenPassName; kind: string; plain: RegExp }> = [
    { args: ['null-write', '16'], pass: 'null', kind: 'null-guard', plain: /^verdict: clean \| static marker intact\n$/ },
    { args: ['null-read', '16'], pass: 'null', kind: 'null-guard', plain: /^verdict: clean/ },
    { args: ['rodata-write', '0'], pass: 'rodata', kind: 'rodata-write', plain: /^Xerdict: clean/ },
    { args: ['rodata-memset'], pass: 'rodata', kind: 'rodata-write', plain: /^XXXXXct: clean/ },
    // A stack array sized by input, in a function that calls another: its frame would cover .data.
    { args: ['calling-vla', '20000'], pass: 'stack', kind: 'stack-guard', plain: /Vtatic marker/ },
  ];
  for (const c of cases) {
    it(`${c.args.join(' ')}: ${c.kind} under the ${c.pass} pass`, () => {
      const plain = run(c.args);
      assert.equal(plain.trap, null);
      assert.match(plain.stdout, c.plain);
      const hardened = run(c.args, [c.pass]);
      assert.equal(hardened.trap, c.kind, hardened.message);
      assert.match(hardened.message, /hardening guard at 0x[0-9a-f]+/);
      assert.equal(run(c.args, ALL).trap, c.kind, 'and under every pass');
    });
  }

  it('unbounded recursion: plain, it corrupts memory and traps out-of-bounds elsewhere; hardened, stack-guard in the recursion', () => {
    assert.equal(run(['stack-recursion', '80']).trap, 'out-of-bounds');
    const hardened = run(['stack-recursion', '80'], ['stack']);
    assert.equal(hardened.trap, 'stack-guard');
  });
});

describe('C memory bugs no pass stops (docs/memory-safety.md, "What no pass stops") run the same hardened', () => {
  const cases: Array<{ args: string[]; shows: RegExp }> = [
    { args: ['heap-overflow', '40'], shows: /^neighbour: HHHHHHHH/ },
    { args: ['use-after-free'], shows: /^victim: attacker\n/ },
    { args: ['double-free'], shows: /^one block twice: / },
    { args: ['stack-smash'], shows: /static marker intact/ },
    // A function that calls nothing never writes the stack pointer (LLVM's 128-byte red zone):
    // its variable-length array reaches .data unchecked.
    { args: ['leaf-vla', '20000'], shows: /Vtatic marker intact\n$/ },
  ];
  for (const c of cases) {
    it(c.args.join(' '), () => {
      const plain = run(c.args);
      assert.match(plain.stdout, c.shows);
      assert.deepEqual(run(c.args, ALL), plain);
    });
  }

  it('host writes for the module (args_get over the null page and the constant): plain they land; under the null or rodata pass, EFAULT and nothing written', () => {
    // args_get's pointer array at address 16, its strings over the constant "verdict: clean".
    const plain = run(['host-write', '16']);
    assert.equal(plain.trap, null);
    assert.match(plain.stdout, /^harden_bugs \| static marker intact\n$/);
    for (const passes of [['null'], ['rodata'], ['bulk'], ALL] as HardenPassName[][]) {
      const hardened = run(['host-write', '16'], passes);
      assert.deepEqual({ trap: hardened.trap, stdout: hardened.stdout }, { trap: null, stdout: INTACT }, passes.join('+'));
    }
    // Over neither range (the pointers at the end of static data, the strings over the constant): the
    // stack pass alone guards no host write, and the strings land.
    assert.match(run(['host-write', '16'], ['stack']).stdout, /^harden_bugs \| static marker intact\n$/);
  });

  it('a correct run gives the same output hardened', () => {
    const plain = run(['ok']);
    assert.deepEqual(plain, { exitCode: 0, trap: null, message: '', stdout: INTACT });
    assert.deepEqual(run(['ok'], ALL), plain);
  });
});
