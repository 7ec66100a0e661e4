// `warden serve` for embedders: startServer imported by the package's name
// (Node resolves a package's own name through its `exports`), serving the
// bundled demo over real HTTP on loopback, reporting a bad config as a
// ConfigError with the key path, and stopping.

import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import type * as Entry from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { example, http } from './harness.js';

const packageName: string = 'wasm-warden';

describe('startServer from the package entry', () => {
  it('serves the bundled demo, generates a private admin token, and stops', async (t) => {
    const warden = (await import(packageName)) as typeof Entry;
    const dataDir = `${tempDir(t)}/data`;
    const lines: string[] = [];
    const started = await warden.startServer({ dataDir, listen: '127.0.0.1:0', admin: '127.0.0.1:0', env: {}, log: (line) => lines.push(line) });
    let stopped = false;
    t.after(async () => { if (!stopped) await started.stop(0); });
    assert.match(started.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await http(`${started.url}/t/hello/`)).status, 200);
    assert.equal((await http(`${started.url}/t/kv/k`, { method: 'PUT', body: 'v' })).status, 201);
    assert.equal((await http(`${started.url}/t/kv/k`)).text, 'v');
    assert.equal(existsSync(`${dataDir}/tenant/kv/kv/k`), true);
    // No token given: one is generated into the data dir, readable by the owner only, and never returned.
    assert.equal(started.adminToken.file, `${dataDir}/serve/admin-token`);
    assert.equal(statSync(started.adminToken.file!).mode & 0o077, 0);
    assert.equal((await http(`${started.adminUrl}/tenants`)).status, 401);
    assert.deepEqual(started.server.listTenants().map((tenant) => tenant.id), ['hello', 'kv']);
    assert.ok(lines.some((l) => l.includes('"kind":"started"')));
    assert.deepEqual(await started.stop(1000), { drained: true });
    stopped = true;
    await assert.rejects(http(`${started.url}/t/hello/`), /ECONNREFUSED/);
  });

  it('rejects a config with a ConfigError naming the key path, before listening', async (t) => {
    const warden = (await import(packageName)) as typeof Entry;
    const dataDir = `${tempDir(t)}/data`;
    const config = { tenant: [{ id: 'x', routes: ['/x/...'], module: example('hello.wasm'), limits: { queue: -1 } }] };
    await assert.rejects(warden.startServer({ config, dataDir, listen: '127.0.0.1:0', admin: '127.0.0.1:0', env: {} }), (error: unknown) => {
      assert.ok(error instanceof warden.ConfigError);
      assert.match(error.message, /tenant\[0\]\.limits\.queue: expected a whole number/);
      return true;
    });
    await assert.rejects(warden.startServer({ dataDir, listen: 'nowhere', env: {} }), warden.ConfigError);
  });
});
