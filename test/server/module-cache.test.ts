// The server's prepared-module cache over real HTTP: a deploy prepares and
// compiles the module once (its first request finds it), tenants running the
// same module under the same policy share one compile, a restarted server
// compiles from the data dir's disk cache without admitting again, and a
// tampered disk entry is a miss (prepared afresh, never trusted).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { admin, fixture, http, serve, writeConfig, type Served } from './harness.js';

const v1 = fixture('versioned-v1.wasm');
const v2 = fixture('versioned-v2.wasm');

function config(dataDir: string, tenants: string[]): string {
  return `data-dir = "${dataDir}"\n` + tenants.map((id) => `
[[tenant]]
id = "${id}"
routes = ["/${id}/..."]
module = "${v1}"
[tenant.policy.limits]
fuel = 0
timeout = "20s"
`).join('');
}

interface Counts { compiles: number; cacheHits: { disk: number; memory: number } }

async function counts(served: Served, tenant: string): Promise<Counts> {
  const reply = await admin(served, `/tenants/${tenant}/stats`);
  assert.equal(reply.status, 200, reply.text);
  const { compiles, cacheHits } = (JSON.parse(reply.text) as { stats: Counts }).stats;
  return { compiles, cacheHits };
}

/** The value of a metric's series for one tenant in the /metrics text. */
async function metric(served: Served, line: string): Promise<number> {
  const text = (await admin(served, '/metrics')).text;
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  assert.ok(found, `${line} in /metrics`);
  return Number(found.slice(line.length + 1));
}

const entries = (dataDir: string): string[] => readdirSync(`${dataDir}/cache/prepared`).filter((n) => n.endsWith('.prep'));

describe('warden serve: the prepared-module cache', () => {
  it('prepares a deployed module once: at the deploy, and its first request finds it compiled', async (t) => {
    const dir = tempDir(t);
    const served = await serve(t, { config: writeConfig(dir, config(`${dir}/data`, ['app'])), dataDir: `${dir}/data` });
    assert.deepEqual(await counts(served, 'app'), { compiles: 0, cacheHits: { disk: 0, memory: 0 } }, 'nothing prepared before a deploy or request');
    const deployed = await admin(served, '/tenants/app/deploy', { method: 'POST', body: readFileSync(v2) });
    assert.equal(deployed.status, 200, deployed.text);
    assert.deepEqual(await counts(served, 'app'), { compiles: 1, cacheHits: { disk: 0, memory: 0 } }, 'the deploy admitted and compiled through the cache');
    assert.equal((await http(`${served.url}/app/`)).text.trim(), 'version 2');
    assert.deepEqual(await counts(served, 'app'), { compiles: 1, cacheHits: { disk: 0, memory: 1 } }, 'the first request after the deploy prepared nothing');
    assert.equal(await metric(served, 'warden_compiles_total{tenant="app"}'), 1);
    assert.equal(await metric(served, 'warden_cache_hits_total{level="memory",tenant="app"}'), 1);
  });

  it('compiles once for three tenants running the same module under the same policy (each with its own root)', async (t) => {
    const dir = tempDir(t);
    const ids = ['one', 'two', 'three'];
    const served = await serve(t, { config: writeConfig(dir, config(`${dir}/data`, ids)), dataDir: `${dir}/data` });
    for (const id of ids) assert.equal((await http(`${served.url}/${id}/`)).text.trim(), 'version 1');
    let compiles = 0;
    let hits = 0;
    for (const id of ids) {
      compiles += await metric(served, `warden_compiles_total{tenant="${id}"}`);
      hits += await metric(served, `warden_cache_hits_total{level="memory",tenant="${id}"}`);
    }
    assert.equal(compiles, 1, 'one compile for the three');
    assert.equal(hits, 2, 'the other two found it compiled');
  });

  it('a restarted server compiles from the disk cache without admitting again; a tampered entry is a miss', async (t) => {
    const dir = tempDir(t);
    const dataDir = `${dir}/data`;
    const configPath = writeConfig(dir, config(dataDir, ['app']));
    const first = await serve(t, { config: configPath, dataDir });
    assert.equal((await http(`${first.url}/app/`)).text.trim(), 'version 1');
    assert.equal((await counts(first, 'app')).compiles, 1);
    assert.equal(await first.stop(), 0);
    assert.equal(entries(dataDir).length, 1, 'the prepared module was stored under the data dir');

    const restarted = await serve(t, { config: configPath, dataDir });
    assert.equal((await http(`${restarted.url}/app/`)).text.trim(), 'version 1');
    assert.deepEqual(await counts(restarted, 'app'), { compiles: 0, cacheHits: { disk: 1, memory: 0 } }, 'served from the disk entry');
    assert.equal(await restarted.stop(), 0);

    // One byte of the stored rewritten module changed: the entry's MAC no longer holds.
    const [name] = entries(dataDir);
    const path = `${dataDir}/cache/prepared/${name}`;
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(path, bytes);
    const tampered = await serve(t, { config: configPath, dataDir });
    assert.equal((await http(`${tampered.url}/app/`)).text.trim(), 'version 1');
    assert.deepEqual(await counts(tampered, 'app'), { compiles: 1, cacheHits: { disk: 0, memory: 0 } }, 'the tampered entry was not trusted: prepared afresh');
    assert.match(tampered.stderr(), /"kind":"cache"/, 'the log says why the entry was not used');
    assert.equal(await tampered.stop(), 0);
    assert.notDeepEqual(readFileSync(path), bytes, 'the fresh preparation wrote the entry again');
  });
});
