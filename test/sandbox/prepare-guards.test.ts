// Where a module's hardening guards trap is found by a search of the code the
// run compiles, for a module hardened by its policy or before it was shipped
// (`warden harden`); the walk of the module as shipped tells whether any guard
// tag is there, so a module with neither skips the search and names no guard.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { parsePolicy } from '../../src/policy/load.js';
import { prepare } from '../../src/sandbox/prepare.js';
import { hardenModule } from '../../src/transform/harden.js';
import { fixture } from '../helpers/paths.js';

const plain = new Uint8Array(readFileSync(fixture('c/hello.wasm')));
const hardened = hardenModule(decodeModule(plain), { passes: ['null'], lenient: true }).bytes;

describe('the guards a prepared module names', () => {
  it('are found in a module hardened before it was shipped, prepared under a policy without hardening', () => {
    assert.notEqual(Buffer.compare(hardened, plain), 0, 'the null pass inserted guards');
    const guards = prepare(hardened, parsePolicy({})).guards;
    assert.ok(guards.length > 0);
    assert.ok(guards.every(([, kind]) => kind === 'null-guard'));
  });

  it('are found in a module the policy hardens', () => {
    const guards = prepare(plain, parsePolicy({ harden: ['null'] })).guards;
    assert.ok(guards.length > 0);
    assert.deepEqual(guards, prepare(hardened, parsePolicy({})).guards);
  });

  it('are none in a module neither hardened nor hardening', () => {
    assert.deepEqual(prepare(plain, parsePolicy({})).guards, []);
  });
});
