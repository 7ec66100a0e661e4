// Thread-isolated tenants run on the server's one shared worker pool: a
// tenant's first request starts no worker threads of its own, however many
// tenants have live sandboxes. Counted as the server process's threads.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { example, http, serve, writeConfig } from './harness.js';

const tenants = Array.from({ length: 6 }, (_, i) => `t${i}`);

const config = (dataDir: string): string => `data-dir = "${dataDir}"
[server]
workers = 2
live-sandboxes = 1
${tenants.map((id) => `
[[tenant]]
id = "${id}"
routes = ["/t/${id}/..."]
module = "${example('hello.wasm')}"
[tenant.limits]
concurrency = 2
`).join('')}`;

const threadsOf = (pid: number): number => readdirSync(`/proc/${pid}/task`).length;

describe('warden serve: the shared worker pool', () => {
  it('opens a sandbox for each tenant without starting worker threads', async (t) => {
    const dir = tempDir(t);
    const dataDir = `${dir}/data`;
    const served = await serve(t, { config: writeConfig(dir, config(dataDir)), dataDir });
    const first = await http(`${served.url}/t/${tenants[0]}/`);
    assert.equal(first.status, 200);
    const before = threadsOf(served.child.pid!);
    for (const id of tenants.slice(1)) assert.equal((await http(`${served.url}/t/${id}/`)).status, 200);
    // A sandbox with workers of its own would add concurrency + 1 = 3 threads per tenant (15 here).
    assert.ok(threadsOf(served.child.pid!) - before < 3, `threads went from ${before} to ${threadsOf(served.child.pid!)}`);
    for (const id of tenants) assert.equal((await http(`${served.url}/t/${id}/`)).status, 200);
  });
});
