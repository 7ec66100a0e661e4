// A refused admin request is audited without what its URL carries after the
// path: a token put in the query string by mistake (`?access_token=…`, as some
// APIs take it) must reach neither the log stream nor the audit file.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startServer } from '../../src/server/start.js';
import { tempDir } from '../helpers/tmp.js';
import { http } from './harness.js';

const TOKEN = 'admin-audit-test-token-0123456789';

describe('admin API audit of refused requests', () => {
  it('records the path, never the query string, of a request refused for its token', async (t) => {
    const dataDir = `${tempDir(t)}/data`;
    const lines: string[] = [];
    const started = await startServer({ dataDir, listen: '127.0.0.1:0', admin: '127.0.0.1:0', env: { WARDEN_ADMIN_TOKEN: TOKEN }, log: (line) => lines.push(line) });
    t.after(() => started.stop(0));
    for (const query of [`?access_token=${TOKEN}`, `?token=${encodeURIComponent(TOKEN)}&x=1`, `?${TOKEN}`]) {
      const r = await http(`${started.adminUrl}/tenants${query}`);
      assert.equal(r.status, 401);
      const wrong = await http(`${started.adminUrl}/tenants/hello/stats${query}`, { headers: { Authorization: 'Bearer not-the-token-at-all' } });
      assert.equal(wrong.status, 401);
    }
    const audited = lines.filter((l) => l.includes('admin-unauthorized'));
    assert.equal(audited.length, 6, lines.join('\n'));
    assert.ok(audited.every((l) => /"path":"\/tenants(\/hello\/stats)?"/.test(l)), audited.join('\n'));
    assert.ok(!lines.some((l) => l.includes(TOKEN)), 'the token reached the log');
    assert.ok(!readFileSync(`${dataDir}/serve/audit.log`, 'utf8').includes(TOKEN), 'the token reached the audit file');
  });
});
