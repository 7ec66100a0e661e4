// The bytes verified are the bytes run: a tenant's module file swapped on disk
// for an unsigned one after the server verified it is never read again behind
// the check (the server runs the bytes it holds, in thread and process
// isolation alike), and a reload that picks the swapped file up verifies it
// afresh and refuses it: the unsigned module never answers.

import assert from 'node:assert/strict';
import { copyFileSync, renameSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually, fixture, http, serve, writeConfig } from './harness.js';

describe('warden serve: the bytes verified are the bytes run', () => {
  for (const isolation of ['thread', 'process'] as const) {
    it(`a module file swapped after verification is not run (${isolation})`, async (t) => {
      const dir = tempDir(t);
      const dataDir = `${dir}/data`;
      const key = `${dir}/k.key`;
      assert.equal((await runWarden(['keygen', '--out', key])).code, 0);
      const module = `${dir}/app.wasm`;
      assert.equal((await runWarden(['sign', '--key', key, fixture('versioned-v1.wasm'), '-o', module])).code, 0);
      const served = await serve(t, {
        dataDir,
        config: writeConfig(dir, `
data-dir = "${dataDir}"
[[tenant]]
id = "app"
routes = ["/app/..."]
module = "${module}"
[tenant.policy]
isolation = "${isolation}"
[tenant.policy.limits]
fuel = 0
[tenant.policy.trust]
keys = ["${key}.pub"]
`),
      });
      const answer = async () => (await http(`${served.url}/app/`)).text.trim();
      assert.equal(await answer(), 'version 1');
      // Swapped whole (a rename, as an attacker with write access to the directory would).
      copyFileSync(fixture('versioned-v2.wasm'), `${dir}/swap.wasm`);
      renameSync(`${dir}/swap.wasm`, module);
      for (let i = 0; i < 5; i++) assert.equal(await answer(), 'version 1');
      // A reload reads the file again, and verifies what it read.
      served.child.kill('SIGHUP');
      await eventually(async () => (await http(`${served.url}/app/`)).status !== 200, 'the reload picks up the swapped file');
      for (let i = 0; i < 3; i++) {
        const r = await http(`${served.url}/app/`);
        assert.notEqual(r.status, 200);
        assert.doesNotMatch(r.text, /version 2/);
      }
      assert.match(served.stderr(), /unsigned/);
      assert.equal(await served.stop(), 0);
    });
  }
});
