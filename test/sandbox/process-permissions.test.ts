// Node 20's permission model aborts a child given the same path twice
// (a failed assertion in its path tree): each path is granted once.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));

describe('process isolation permissions', () => {
  it('one host directory mounted twice (at two guest paths) still starts the child', async (t) => {
    const dir = tempDir(t);
    const sandbox = await createSandbox({
      isolation: 'process',
      mount: [{ host: dir, guest: '/a' }, { host: dir, guest: '/b' }],
      limits: { timeout: '5s' },
    });
    try {
      const r = await sandbox.run(hello, { args: ['hello', 'twice'] });
      assert.equal(r.exitCode, 0, JSON.stringify(r.trap));
    } finally {
      await sandbox.close();
    }
  });
});
