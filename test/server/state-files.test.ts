// The server's state files (deployments.json, the generated admin token) are
// replaced whole or not at all, even when the kernel accepts only part of a
// write: a child process runs under a real file-size limit (RLIMIT_FSIZE), so
// its write(2) returns short and the next one fails with EFBIG, as on a disk
// that fills up partway through. The admin token kept in the data dir is
// used only while no one else can read it.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadAdminToken, TokenError } from '../../src/server/admin-token.js';
import { tempDir } from '../helpers/tmp.js';

const registryModule = fileURLToPath(new URL('../../src/server/registry.js', import.meta.url));
const adminTokenModule = fileURLToPath(new URL('../../src/server/admin-token.js', import.meta.url));
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

/** Runs `script` (an ES module body) in a child process whose files may grow to `kib` KiB at most. */
function underFileSizeLimit(kib: number, script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/bin/sh', ['-c', `ulimit -f ${kib} && exec "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('server state files', () => {
  it('keeps the last whole deployments.json when a write is cut short by the disk', (t) => {
    const state = tempDir(t);
    // One small deployment fits under the limit; twenty more do not.
    const script = `
      import { FileTenantRegistry } from ${JSON.stringify(registryModule)};
      const registry = new FileTenantRegistry(() => ({}), ${JSON.stringify(state)});
      const at = new Date(0).toISOString();
      registry.record('app', { digest: ${JSON.stringify(digest(1))}, previous: null, configModule: ${JSON.stringify(digest(2))}, at });
      let refused = 0;
      for (let i = 0; i < 20; i++) {
        try {
          registry.record('tenant-' + i, { digest: ${JSON.stringify(digest(3))}, previous: ${JSON.stringify(digest(4))}, configModule: ${JSON.stringify(digest(5))}, at });
        } catch (error) {
          refused++;
        }
      }
      console.log(JSON.stringify({ refused, app: registry.deployment('app')?.digest ?? null }));
    `;
    const r = underFileSizeLimit(4, script);
    assert.equal(r.status, 0, r.stderr);
    const outcome = JSON.parse(r.stdout) as { refused: number; app: string | null };
    assert.ok(outcome.refused > 0, 'the file-size limit was reached');
    assert.equal(outcome.app, digest(1));
    // Whatever was cut short, the file on disk is whole: it parses, and holds only deployments that were recorded.
    const file = JSON.parse(readFileSync(`${state}/deployments.json`, 'utf8')) as { version: number; tenants: Record<string, { digest: string }> };
    assert.equal(file.version, 1);
    assert.equal(file.tenants.app?.digest, digest(1));
    assert.equal(Object.keys(file.tenants).length, 1 + 20 - outcome.refused);
    // No temporary file is left behind.
    assert.deepEqual(readdirSync(state).sort(), ['deployments.json']);
  });
});

describe('the admin token kept in the data dir', () => {
  it('is refused while others can read it, like a configured token file, and used once it is 0600', (t) => {
    const state = `${tempDir(t)}/serve`;
    mkdirSync(state, { mode: 0o700 });
    const file = `${state}/admin-token`;
    writeFileSync(file, 'a-token-someone-else-could-read-0123456789\n');
    const load = () => loadAdminToken({ tokenFile: null, tokenEnv: null, env: {}, stateDir: state });
    for (const mode of [0o644, 0o640, 0o604]) {
      chmodSync(file, mode);
      assert.throws(load, (e: Error) => e instanceof TokenError && /readable by others/.test(e.message) && e.message.includes(file), mode.toString(8));
    }
    chmodSync(file, 0o600);
    assert.equal(load().token, 'a-token-someone-else-could-read-0123456789');
    // One it generates is 0600 and is used again.
    const fresh = `${tempDir(t)}/serve`;
    const generated = loadAdminToken({ tokenFile: null, tokenEnv: null, env: {}, stateDir: fresh });
    assert.equal(statSync(`${fresh}/admin-token`).mode & 0o777, 0o600);
    assert.equal(loadAdminToken({ tokenFile: null, tokenEnv: null, env: {}, stateDir: fresh }).token, generated.token);
  });

  it('servers starting at once on one state dir all take the one token the file keeps', async (t) => {
    const state = `${tempDir(t)}/serve`;
    // Each a process of its own, as two `warden serve` are; each prints the token it would accept.
    const script = `import { loadAdminToken } from ${JSON.stringify(adminTokenModule)};
      process.stdout.write(loadAdminToken({ tokenFile: null, tokenEnv: null, env: {}, stateDir: ${JSON.stringify(state)} }).token);`;
    const runs = await Promise.all(Array.from({ length: 16 }, () => new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], (error, stdout) => (error ? reject(error) : resolve(stdout)));
    })));
    const kept = readFileSync(`${state}/admin-token`, 'utf8').trim();
    // Replaced by a later one, the file had held a token some of the servers did not accept.
    assert.deepEqual(runs, runs.map(() => kept));
    assert.deepEqual(readdirSync(state), ['admin-token']);
  });
});
