// The same plugins, written here in C against the documented kernel ABI, under
// wasm-warden and under the @extism/extism SDK: byte-identical outputs, the
// same errors, the same logs, variables carried across calls alike.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import createPlugin, { type Plugin } from '@extism/extism';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { fixture } from '../helpers/paths.js';

const wasm = new Uint8Array(readFileSync(fixture('c', 'plugins', 'kernel-plugin.wasm')));
const config = { greeting: 'hello from the config' };

type Logged = Array<[string, string]>;

async function extism(logs: Logged): Promise<Plugin> {
  const logger = Object.fromEntries(['info', 'debug', 'warn', 'error', 'trace'].map((level) => [level, (message: string) => logs.push([level, message])]));
  return createPlugin({ wasm: [{ data: wasm }] }, { useWasi: false, config, logger: logger as unknown as Console, runInWorker: false });
}

/** Output bytes, or the error message the SDK throws. */
async function viaExtism(plugin: Plugin, fn: string, input?: string | Uint8Array): Promise<{ output: Uint8Array | null; error: string | null }> {
  try {
    const out = await plugin.call(fn, input);
    return { output: out ? out.bytes().slice() : new Uint8Array(0), error: null };
  } catch (error) {
    return { output: null, error: (error as Error).message };
  }
}

for (const isolation of ['none', 'thread'] as const) {
  describe(`Extism kernel ABI, wasm-warden (${isolation}) against @extism/extism`, () => {
    let sandbox: Sandbox;
    let peer: Plugin;
    const peerLogs: Logged = [];
    before(async () => {
      sandbox = await createSandbox({ isolation, plugin: { config }, limits: { timeout: '5s' } });
      peer = await extism(peerLogs);
    });
    after(async () => {
      await sandbox.close();
      await peer.close();
    });

    const same = async (fn: string, input?: string | Uint8Array) => {
      const theirs = await viaExtism(peer, fn, input);
      const ours = await sandbox.callPlugin(wasm, fn, input);
      assert.equal(ours.trap, null, JSON.stringify(ours.trap));
      assert.equal(theirs.error, null, theirs.error ?? '');
      assert.equal(ours.plugin.error, null);
      assert.equal(ours.plugin.rc, 0);
      assert.deepEqual(Buffer.from(ours.plugin.output), Buffer.from(theirs.output!), `${fn} output differs`);
      return ours;
    };

    it('echo: the input back, empty, text, binary, and sizes around 8-byte words', async () => {
      await same('echo', '');
      await same('echo', 'hello, world');
      const binary = new Uint8Array(1031).map((_, i) => (i * 31 + 7) & 0xff);
      await same('echo', binary);
    });

    it('config: a key the policy gives, and a missing one', async () => {
      assert.equal(new TextDecoder().decode((await same('config', 'greeting')).plugin.output), 'hello from the config');
      await same('config', 'HOME');
    });

    it('variables: set and read across calls, then removed', async () => {
      const outputs: string[] = [];
      for (const fn of ['count', 'count', 'count', 'forget', 'count']) outputs.push(new TextDecoder().decode((await same(fn)).plugin.output));
      assert.deepEqual(outputs, ['1', '2', '3', 'forgotten', '1']);
    });

    it('log: the same lines at the same levels', async () => {
      peerLogs.length = 0;
      const ours = await same('log');
      assert.deepEqual(ours.plugin.logs.map((l) => [l.level, l.message]), peerLogs);
    });

    it('error: the plugin\'s own message, non-zero status, no output', async () => {
      const theirs = await viaExtism(peer, 'fail');
      const ours = await sandbox.callPlugin(wasm, 'fail');
      assert.equal(ours.trap, null);
      assert.equal(ours.plugin.rc, 1);
      assert.equal(ours.plugin.error, 'the plugin failed on purpose');
      assert.ok(theirs.error?.includes(ours.plugin.error!), theirs.error ?? 'no error from the SDK');
    });

    it('1 MiB of output, byte-identical', async () => {
      const ours = await same('big');
      assert.equal(ours.plugin.output.length, 1 << 20);
    });
  });
}
