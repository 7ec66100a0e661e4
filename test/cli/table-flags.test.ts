// --max-table-elements, --max-tables and --max-memories on warden check and warden run.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { tableGrowBomb } from '../helpers/module-builder.js';
import { tempDir } from '../helpers/tmp.js';

describe('table and memory count flags', () => {
  it('check: the flags override the policy, and a bad count is a usage error', async (t) => {
    const dir = tempDir(t);
    const policy = join(dir, 'p.toml');
    writeFileSync(policy, '[limits]\ntables = 100\n');
    const module = join(dir, 'tables.wasm');
    writeFileSync(module, tableGrowBomb(20, 1));
    assert.equal((await runWarden(['check', '--policy', policy, module])).code, 0);
    const refused = await runWarden(['check', '--policy', policy, '--max-tables', '8', '--json', module]);
    assert.equal(refused.code, 1);
    assert.deepEqual(JSON.parse(refused.stdout).violations.map((v: { rule: string }) => v.rule), ['too-many-tables']);
    assert.equal((await runWarden(['check', '--policy', policy, '--max-memories=0', module])).code, 0); // it declares none
    assert.equal((await runWarden(['check', '--policy', policy, '--max-table-elements', 'many', module])).code, 2);
  });

  it('run: 600 tables are refused by default (125), and --max-tables admits them', async (t) => {
    const dir = tempDir(t);
    const module = join(dir, 'bomb.wasm');
    writeFileSync(module, tableGrowBomb(600, 1000));
    const refused = await runWarden(['run', module]);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /too-many-tables/);
    const admitted = await runWarden(['run', '--max-tables', '600', '--max-table-elements', '6000', module]);
    assert.equal(admitted.code, 0, admitted.stderr);
  });
});
