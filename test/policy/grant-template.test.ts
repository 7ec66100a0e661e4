import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { compileGrant, grantFor, grantTemplate, type RunInputs } from '../../src/policy/compile-grant.js';
import { tempDir } from '../helpers/tmp.js';

const noScratch = (): string => { throw new Error('no scratch expected'); };

describe('the grant made once per policy', () => {
  it('gives each run exactly the grant compileGrant gives', (t) => {
    const root = tempDir(t);
    const policies = [
      parsePolicy({}),
      parsePolicy({ mount: [{ host: root, guest: '/', mode: 'rw' }], clock: 'frozen', random: 'os', limits: { timeout: '2s', fuel: 1000 } }),
      parsePolicy({ args: ['app', '-v'], env: { A: '1', SHARED: 'policy' }, stdio: { stdin: 'inherit', stdout: 'inherit' }, mount: [{ host: root, guest: '/data', mode: 'ro' }] }),
    ];
    const inputs: RunInputs[] = [
      {},
      { args: ['/t/x'] },
      { env: { SHARED: 'run', B: '2' } },
      { args: ['a'], env: { REQUEST_METHOD: 'GET' }, stdin: new Uint8Array([1, 2, 3]) },
      { stdin: 'text' },
    ];
    for (const policy of policies) {
      const template = grantTemplate(policy);
      assert.ok(template);
      for (const input of inputs) assert.deepEqual(grantFor(template, input), compileGrant(policy, input, noScratch));
    }
  });

  it('keeps one run\'s inputs out of the next run\'s grant', (t) => {
    const policy = parsePolicy({ env: { A: '1' }, mount: [{ host: tempDir(t), guest: '/', mode: 'rw' }] });
    const template = grantTemplate(policy)!;
    const first = grantFor(template, { env: { SECRET: 'first request' }, stdin: 'body' });
    const second = grantFor(template, {});
    assert.deepEqual(first.env, [['A', '1'], ['SECRET', 'first request']]);
    assert.deepEqual(second.env, [['A', '1']]);
    assert.deepEqual(second.stdin, { kind: 'none' });
    // What every run shares cannot be changed through one run's grant.
    assert.ok(Object.isFrozen(second.env) && Object.isFrozen(second.mounts) && Object.isFrozen(second.mounts[0]));
    assert.throws(() => (second.env as Array<readonly [string, string]>).push(['X', 'y']));
  });

  it('is not made for a policy whose mounts need scratch per run', () => {
    assert.equal(grantTemplate(parsePolicy({ mount: [{ kind: 'tmpfs', guest: '/tmp' }] })), null);
  });
});
