// Every command's --json output, with a name, a path, a guest's text or a
// server's answer carrying characters a terminal acts on (a CSI, a bidi
// override, a line separator, DEL): no such character reaches stdout raw, and
// the JSON still parses back to the very same value. The real CLI, real files,
// real HTTP on loopback.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { runWarden, type CliResult } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { registryAvailable, startRegistry, type Registry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tmp.js';

/** Characters that act on a terminal or reorder what is read; \n alone is JSON's own layout. */
const ACTIVE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** A file name with some of them: a CSI (U+009B), a right-to-left override, a line separator, DEL. */
const EVIL = 'x\u009b2J\u202eevil\u2028\u007fy';
/** A guest's text with the ESC form as well. */
const EVIL_TEXT = `A\x1b[2J\x1b]0;title\x07\u009b31m\u202eevil\u2066x\u061cy\u200f\u2028z\r\nforged line\x7fend`;

function parsed(r: CliResult, code = 0): any {
  assert.equal(r.code, code, r.stderr);
  assert.doesNotMatch(r.stdout, ACTIVE, `raw terminal control in: ${JSON.stringify(r.stdout)}`);
  assert.doesNotMatch(r.stderr, ACTIVE, `raw terminal control in: ${JSON.stringify(r.stderr)}`);
  return JSON.parse(r.stdout);
}

describe('--json output is safe on a terminal and round-trips', () => {
  it('check, harden, keygen, sign, verify, init, ls, push', async (t) => {
    const cwd = tempDir(t);
    copyFileSync(fixture('c', 'hello.wasm'), join(cwd, `${EVIL}.wasm`));
    writeFileSync(join(cwd, 'policy.toml'), '');
    assert.equal(parsed(await runWarden(['check', '--json', '--policy', 'policy.toml', `${EVIL}.wasm`], { cwd })).module, `${EVIL}.wasm`);
    assert.equal(parsed(await runWarden(['harden', '--all', '--json', `${EVIL}.wasm`, '-o', `${EVIL}-h.wasm`], { cwd })).output, `${EVIL}-h.wasm`);
    assert.equal(parsed(await runWarden(['keygen', '--json', '--out', `${EVIL}.key`], { cwd })).secretKey, `${EVIL}.key`);
    assert.equal(parsed(await runWarden(['sign', '--json', '--key', `${EVIL}.key`, `${EVIL}.wasm`, '-o', `${EVIL}-s.wasm`], { cwd })).out, `${EVIL}-s.wasm`);
    const verified = parsed(await runWarden(['verify', '--json', '--key', `${EVIL}.key.pub`, `${EVIL}-s.wasm`], { cwd }));
    assert.equal(verified.module, `${EVIL}-s.wasm`);
    assert.deepEqual(verified.verifiedBy, [`${EVIL}.key.pub`]);
    assert.equal(parsed(await runWarden(['init', '--json', '--out', `${EVIL}.toml`], { cwd })).policy, `${EVIL}.toml`);
    const data = join(cwd, `${EVIL}-data`);
    assert.match(parsed(await runWarden(['push', '--json', '--data-dir', data, `${EVIL}.wasm`], { cwd })).digest, /^sha256:/);
    const listed = parsed(await runWarden(['ls', '--json', '--data-dir', data], { cwd }));
    assert.equal(listed.store, data);
    assert.equal(listed.modules.length, 1);
  });

  it("run: the module path and the guest's stdout, and the --report file", async (t) => {
    const cwd = tempDir(t);
    copyFileSync(fixture('c', 'wasi', 'cat.wasm'), join(cwd, `${EVIL}.wasm`));
    mkdirSync(join(cwd, 'd'));
    writeFileSync(join(cwd, 'd', 'text'), EVIL_TEXT);
    const r = parsed(await runWarden(['run', '--json', '--report', 'report.json', '--dir-ro', 'd::/d', `${EVIL}.wasm`, '/d/text'], { cwd }));
    assert.equal(r.module, `${EVIL}.wasm`);
    assert.ok(r.stdout.startsWith(EVIL_TEXT), r.stdout);
    const report = readFileSync(join(cwd, 'report.json'), 'utf8');
    assert.doesNotMatch(report.replace(/\n/g, ''), ACTIVE);
    assert.equal(JSON.parse(report).module, `${EVIL}.wasm`);
  });

  it("call: the plugin's log lines and error", async (t) => {
    const cwd = tempDir(t);
    copyFileSync(fixture('c', 'plugins', 'kernel-plugin.wasm'), join(cwd, `${EVIL}.wasm`));
    const r = parsed(await runWarden(['call', '--json', `${EVIL}.wasm`, 'shout', '--input', '-'], { cwd, input: EVIL_TEXT }), 1);
    assert.equal(r.module, `${EVIL}.wasm`);
    assert.equal(r.error, EVIL_TEXT);
    assert.equal(r.logs[0].message, EVIL_TEXT);
  });

  it("deploy and rollback: the admin server's answer, with --json and without", async (t) => {
    const digest = `sha256:${'a'.repeat(64)}`;
    let status = 200;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(status === 200 ? { digest, previous: EVIL_TEXT, changed: true } : { reason: EVIL_TEXT }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => { server.closeAllConnections(); server.close(); });
    const admin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env = { WARDEN_ADMIN_TOKEN: 'json-output-test-token' };
    assert.equal(parsed(await runWarden(['rollback', 't1', '--admin', admin, '--json'], { env })).previous, EVIL_TEXT);
    const plain = await runWarden(['rollback', 't1', '--admin', admin], { env });
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.stdout.replace(/\n$/, ''), ACTIVE);
    status = 409;
    const cwd = tempDir(t);
    copyFileSync(fixture('c', 'hello.wasm'), join(cwd, 'hello.wasm'));
    assert.equal(parsed(await runWarden(['deploy', 't1', 'hello.wasm', '--admin', admin, '--json'], { cwd, env }), 1).reason, EVIL_TEXT);
    const refused = await runWarden(['deploy', 't1', 'hello.wasm', '--admin', admin], { cwd, env });
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr.split('\n').length, 2, refused.stderr);
    assert.doesNotMatch(refused.stderr.replace(/\n$/, ''), ACTIVE);
  });
});

describe('--json output of pull', { skip: !registryAvailable() && process.env.CI !== 'true' && 'needs /usr/bin/docker-registry' }, () => {
  let registry: Registry;
  before(async () => { registry = await startRegistry(); });
  after(async () => { await registry?.stop(); });

  it('pull: the output path', async (t: TestContext) => {
    const cwd = tempDir(t);
    copyFileSync(fixture('c', 'hello.wasm'), join(cwd, 'hello.wasm'));
    assert.equal((await runWarden(['keygen', '--out', 'k'], { cwd })).code, 0);
    assert.equal((await runWarden(['sign', '--key', 'k', 'hello.wasm', '-o', 'signed.wasm'], { cwd })).code, 0);
    const push = await runWarden(['push', '--oci', `${registry.address}/json/hello:1`, 'signed.wasm'], { cwd });
    assert.equal(push.code, 0, push.stderr);
    const pulled = parsed(await runWarden(['pull', push.stdout.trim(), '-o', `${EVIL}.wasm`, '--json'], { cwd }));
    assert.equal(pulled.out, `${EVIL}.wasm`);
  });
});
