// Limits over real HTTP: a guest that fails at its memory limit is answered
// 503 (the limit's doing) and recorded as a memory limit hit, while one that
// fails holding little memory is still 500; a tenant over its storage quota
// may remove and truncate its way back under, but not grow.

import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { admin, eventually, example, fixture, http, serve, writeConfig, type Served, suiteHooks } from './harness.js';

function config(dataDir: string): string {
  return `
data-dir = "${dataDir}"
[server]
isolate-after = 0

[[tenant]]
id = "grower"
routes = ["/t/grower/..."]
module = "${example('hostile.wasm')}"
[tenant.policy.limits]
memory = "16MiB"

[[tenant]]
id = "grower-process"
routes = ["/t/grower-process/..."]
module = "${example('hostile.wasm')}"
[tenant.policy]
isolation = "process"
[tenant.policy.limits]
memory = "16MiB"

[[tenant]]
id = "kv"
routes = ["/t/kv/..."]
module = "${example('kv.wasm')}"
[tenant.limits]
storage = "64KiB"
body = "64KiB"

[[tenant]]
id = "files"
routes = ["/t/files/..."]
module = "${fixture('files.wasm')}"
[tenant.limits]
storage = "64KiB"
body = "64KiB"
`;
}

describe('warden serve: limits', () => {
  let served: Served;
  let dataDir: string;
  const hooks = suiteHooks();
  before(async () => {
    const dir = tempDir(hooks);
    dataDir = `${dir}/data`;
    served = await serve(hooks, { config: writeConfig(dir, config(dataDir)), dataDir });
  });
  const call = (path: string, options?: Parameters<typeof http>[1]) => http(served.url + path, options);

  it('answers 503 when the guest aborts after memory.grow is refused at the policy limit, and records a memory limit hit', async () => {
    const grown = await call('/t/grower/grow');
    assert.equal(grown.status, 503, grown.text);
    // The body names neither the limit nor its size: only the error and the request id (whose random hex may hold any digits).
    const body = JSON.parse(grown.text) as Record<string, string>;
    assert.deepEqual(Object.keys(body).sort(), ['error', 'request_id']);
    assert.doesNotMatch(body.error!, /memory|grow|16/i);
    const stats = JSON.parse((await admin(served, '/tenants/grower/stats')).text) as { stats: { limitHits: Record<string, number>; byStatus: Record<string, number> } };
    assert.equal(stats.stats.limitHits.memory, 1);
    assert.match((await admin(served, '/metrics')).text, /warden_limit_hits_total\{limit="memory",tenant="grower"\} 1/);
    assert.match(served.stderr(), /"tenant":"grower","route":"\/t\/grower\/\.\.\.","method":"GET","status":503[^\n]*"reason":"limit:memory"/);
  });

  it('answers 503 for the same failure in a process-isolated tenant', async () => {
    const grown = await call('/t/grower-process/grow');
    assert.equal(grown.status, 503, grown.text);
    assert.equal((await call('/t/grower-process/exit')).status, 500);
  });

  it('still answers 500 for a guest that fails holding little of its memory', async () => {
    const failed = await call('/t/grower/exit');
    assert.equal(failed.status, 500, failed.text);
    const stats = JSON.parse((await admin(served, '/tenants/grower/stats')).text) as { stats: { limitHits: Record<string, number> } };
    assert.equal(stats.stats.limitHits.memory, 1);
  });

  it('lets a tenant over its storage quota delete its way back under, then write again', async () => {
    const value = 'q'.repeat(40 * 1024);
    assert.equal((await call('/t/kv/a', { method: 'PUT', body: value })).status, 201);
    assert.equal((await call('/t/kv/b', { method: 'PUT', body: value })).status, 201);
    // Over the quota now: growth is refused.
    assert.equal((await call('/t/kv/c', { method: 'PUT', body: value })).status, 507);
    assert.equal(existsSync(`${dataDir}/tenant/kv/kv/c`), false);
    // Removing is not growth: it works over the quota (a read-only root refused it).
    const removed = await call('/t/kv/a', { method: 'DELETE' });
    assert.equal(removed.status, 200, removed.text);
    assert.equal(existsSync(`${dataDir}/tenant/kv/kv/a`), false);
    // Back under the quota, writes succeed again once the root is measured again.
    await eventually(async () => (await call('/t/kv/c', { method: 'PUT', body: value })).status === 201, 'a write after the delete succeeds');
    assert.equal((await call('/t/kv/c')).text, value);
  });

  it('over quota, truncating shrinks a file while appending, growing by truncate, creating files and directories are refused', async () => {
    const value = 'f'.repeat(40 * 1024);
    assert.equal((await call('/t/files/write/one', { method: 'PUT', body: value })).status, 200);
    assert.equal((await call('/t/files/write/two', { method: 'PUT', body: value })).status, 200);
    // Over the quota: every way to grow the root is refused with EDQUOT.
    const appended = await call('/t/files/append/one', { method: 'POST', body: 'more' });
    assert.equal(appended.status, 507, appended.text);
    assert.match(appended.text, /quota/i);
    assert.equal((await call('/t/files/truncate/one?100000')).status, 507);
    assert.equal((await call('/t/files/write/three', { method: 'PUT', body: 'x' })).status, 507);
    assert.equal((await call('/t/files/mkdir/dir')).status, 507);
    assert.equal(statSync(`${dataDir}/tenant/files/one`).size, value.length);
    assert.equal(existsSync(`${dataDir}/tenant/files/three`), false);
    assert.equal(existsSync(`${dataDir}/tenant/files/dir`), false);
    // Shrinking is allowed.
    const truncated = await call('/t/files/truncate/one?10');
    assert.equal(truncated.status, 200, truncated.text);
    assert.equal(statSync(`${dataDir}/tenant/files/one`).size, 10);
    assert.equal((await call('/t/files/size/one')).text, '10\n');
    // And once measured under the quota, the root grows again.
    await eventually(async () => (await call('/t/files/append/one', { method: 'POST', body: 'more' })).status === 200, 'an append after the truncate succeeds');
    assert.equal(statSync(`${dataDir}/tenant/files/one`).size, 14);
  });
});
