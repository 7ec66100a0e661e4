// The admin API answers a known endpoint asked with another method 405, with
// the method it takes in Allow, and changes nothing; an unknown endpoint is
// 404. Over real HTTP on loopback, against the bundled demo.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startServer } from '../../src/server/start.js';
import { tempDir } from '../helpers/tmp.js';
import { http } from './harness.js';

const TOKEN = 'admin-methods-test-token-0123456789';
const auth = { Authorization: `Bearer ${TOKEN}` };

describe('admin API methods', () => {
  it('answers 405 with Allow for every method an endpoint does not take', async (t) => {
    const started = await startServer({ dataDir: `${tempDir(t)}/data`, listen: '127.0.0.1:0', admin: '127.0.0.1:0', env: { WARDEN_ADMIN_TOKEN: TOKEN }, log: () => {} });
    t.after(() => started.stop(0));
    const before = (await http(`${started.adminUrl}/tenants`, { headers: auth })).text;
    const endpoints: Array<[string, string]> = [
      ['/metrics', 'GET'], ['/tenants', 'GET'], ['/reload', 'POST'],
      ['/tenants/hello/stats', 'GET'], ['/tenants/hello/deploy', 'POST'], ['/tenants/hello/rollback', 'POST'],
    ];
    for (const [path, allowed] of endpoints) {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
        if (method === allowed) continue;
        const r = await http(`${started.adminUrl}${path}`, { method, headers: auth, body: '' });
        assert.equal(r.status, 405, `${method} ${path}: ${r.text}`);
        assert.equal(r.headers.allow, allowed, `${method} ${path}`);
      }
    }
    assert.equal((await http(`${started.adminUrl}/nothing-here`, { method: 'POST', headers: auth, body: '' })).status, 404);
    assert.equal((await http(`${started.adminUrl}/tenants/hello/other`, { headers: auth })).status, 404);
    // Nothing was deployed, rolled back or reloaded by any of them.
    assert.equal((await http(`${started.adminUrl}/tenants`, { headers: auth })).text, before);
  });
});
