// The vulnerable decoder as `warden serve` tenants (docs/memory-safety.md):
// the crafted image posted to the plain tenant leaks exactly the module's own
// licence key and overwrites its own constants, and nothing of the host or of
// the other tenants; the same module hardened at admission (policy `harden`)
// answers 500 with the guard's kind in the log; the other tenants answer as
// before throughout.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually, example, http, serve, writeConfig, type Served, suiteHooks } from './harness.js';

const decoderDir = join(repoRoot, 'examples', 'vulnerable-decoder');
const wagi = join(decoderDir, 'wimg-wagi.wasm');
const LICENCE = 'WIMG-LICENCE-7f3a9c51e2d84b06';
const CANARY = 'HOST-CANARY-serve-7d1e0a';

function config(dataDir: string): string {
  return `
data-dir = "${dataDir}"

[[tenant]]
id = "decoder"
routes = ["/t/decoder/..."]
module = "${wagi}"

[[tenant]]
id = "hardened"
routes = ["/t/hardened/..."]
module = "${wagi}"
[tenant.policy]
harden = ["stack", "null", "rodata"]

[[tenant]]
id = "hello"
routes = ["/t/hello/..."]
module = "${example('hello.wasm')}"
`;
}

describe('warden serve: the vulnerable decoder as a tenant', () => {
  let served: Served;
  let inputs: Record<string, Uint8Array>;
  const hooks = suiteHooks();
  before(async () => {
    // The crafted inputs, aimed at this build's addresses (craft.mjs reads them from the module).
    const { craft } = await import(pathToFileURL(join(decoderDir, 'craft.mjs')).href) as { craft: (bytes: Uint8Array) => Record<string, Uint8Array> };
    inputs = craft(new Uint8Array(readFileSync(wagi)));
    const dir = tempDir(hooks);
    served = await serve(hooks, { config: writeConfig(dir, config(`${dir}/data`)), dataDir: `${dir}/data`, env: { WARDEN_CANARY: CANARY } });
  });
  const post = (tenant: string, name: string) => http(`${served.url}/t/${tenant}/`, { method: 'POST', body: inputs[name]! });
  const hello = async () => {
    const r = await http(`${served.url}/t/hello/`);
    assert.equal(r.status, 200);
    assert.equal(r.text, 'Hello from wasm-warden!\n');
  };

  it('decodes a normal image, plain and hardened alike', async () => {
    const plain = await post('decoder', 'normal.wimg');
    assert.equal(plain.status, 200, plain.text);
    assert.match(plain.text, /^WIMG 64x48\n[\s\S]*image is clean\n$/);
    assert.equal((await post('hardened', 'normal.wimg')).text, plain.text);
  });

  it('the leak stays inside the tenant: its own licence key, nothing of the host, the others unaffected', async () => {
    const r = await post('decoder', 'leak.wimg');
    assert.equal(r.status, 200);
    assert.ok(r.text.includes(LICENCE), 'the module\'s own secret');
    assert.ok(!r.text.includes(CANARY), 'never the server\'s environment');
    assert.ok(!served.stderr().includes(CANARY));
    const again = await post('hardened', 'leak.wimg');
    assert.ok(again.text.includes(LICENCE), 'no pass checks reads: contained, not stopped');
    await hello();
  });

  it('the constant overwrite goes through silently on the plain tenant and ends the hardened one\'s request with rodata-write', async () => {
    const plain = await post('decoder', 'rodata.wimg');
    assert.equal(plain.status, 200);
    assert.match(plain.text, /image is PWNED/);
    const hardened = await post('hardened', 'rodata.wimg');
    assert.equal(hardened.status, 500);
    assert.doesNotMatch(hardened.text, /PWNED|rodata|LICENCE/);
    await eventually(async () => served.stdout.some((l) => l.includes('trap:rodata-write')) || served.stderr().includes('trap:rodata-write'), 'the guard\'s kind in the request log');
    for (const [name, kind] of [['null.wimg', 'null-guard'], ['stack.wimg', 'stack-guard']] as const) {
      assert.equal((await post('hardened', name)).status, 500);
      await eventually(async () => served.stdout.some((l) => l.includes(`trap:${kind}`)) || served.stderr().includes(`trap:${kind}`), kind);
    }
    // The tenant serves the next request normally, and so do the others.
    assert.equal((await post('hardened', 'normal.wimg')).status, 200);
    await hello();
  });
});
