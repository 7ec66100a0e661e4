// Tenants' modules from a real OCI registry on loopback, pinned by manifest
// digest: in the config, and in a deploy the server pulls itself.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { pushModule } from '../../src/store/oci.js';
import { parseOciReference } from '../../src/store/reference.js';
import { runWarden } from '../helpers/cli.js';
import { registryAvailable, startRegistry, type Registry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tmp.js';
import { admin, example, fixture, http, serve, TOKEN, writeConfig } from './harness.js';

const inCi = process.env.CI === 'true';
const skip = !registryAvailable() && !inCi ? 'SKIPPED: docker-registry is not installed (apt-get install docker-registry)' : false;

describe('warden serve: modules from an OCI registry', { skip }, () => {
  let registry: Registry;
  before(async () => { registry = await startRegistry(); });
  after(async () => { await registry?.stop(); });

  it('serves a pinned reference from the config and deploys another one by reference', async (t) => {
    const dir = tempDir(t);
    const key = `${dir}/k.key`;
    assert.equal((await runWarden(['keygen', '--out', key])).code, 0);
    const sign = async (input: string, output: string) => {
      assert.equal((await runWarden(['sign', '--key', key, input, '-o', output])).code, 0);
      return new Uint8Array(readFileSync(output));
    };
    const hello = await sign(example('hello.wasm'), `${dir}/hello.signed.wasm`);
    const v2 = await sign(fixture('versioned-v2.wasm'), `${dir}/v2.signed.wasm`);
    const helloRef = await pushModule(parseOciReference(`${registry.address}/tenants/hello:1`), hello, { created: '2026-01-01T00:00:00Z' });
    const v2Ref = await pushModule(parseOciReference(`${registry.address}/tenants/hello:2`), v2, { created: '2026-01-01T00:00:00Z' });
    const config = writeConfig(dir, `
[[tenant]]
id = "hello"
routes = ["/hello/..."]
module = "${helloRef}"
[tenant.policy.trust]
keys = ["${key}.pub"]
`);
    const served = await serve(t, { config, dataDir: `${dir}/data` });
    assert.equal((await http(`${served.url}/hello/`)).text, 'Hello from wasm-warden!\n');
    const deployed = await runWarden(['deploy', 'hello', v2Ref, '--admin', served.admin], { env: { WARDEN_ADMIN_TOKEN: TOKEN } });
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.equal((await http(`${served.url}/hello/`)).text, 'version 2\n');
    // A tag is not a pin: refused with the reason, and the deployed version keeps serving.
    const byTag = await admin(served, '/tenants/hello/deploy', { method: 'POST', body: JSON.stringify({ module: `${registry.address}/tenants/hello:1` }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(byTag.status, 409);
    assert.match(byTag.text, /pin it by digest/);
    assert.equal((await http(`${served.url}/hello/`)).text, 'version 2\n');
  });
});
