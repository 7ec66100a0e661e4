// A policy or serve config path that names something endless (/dev/zero) or
// huge is refused with a one-line error and the usual exit code once it passes
// the bound, instead of the host reading until its memory runs out; so is a
// trusted key file a policy names.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadPolicy } from '../../src/policy/read-file.js';
import { PolicyError } from '../../src/policy/load.js';
import { MAX_SETTINGS_FILE } from '../../src/policy/read-text.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

describe('policy and config files are read within a bound', () => {
  it('a file one byte past the bound is refused; one at it is read', (t) => {
    const dir = tempDir(t);
    const over = join(dir, 'over.toml');
    writeFileSync(over, '#'.repeat(MAX_SETTINGS_FILE) + '\n');
    assert.throws(() => loadPolicy(over), (e: Error) => e instanceof PolicyError && /larger than 4 MiB/.test(e.message));
    const at = join(dir, 'at.toml');
    writeFileSync(at, '#'.repeat(MAX_SETTINGS_FILE - 1) + '\n');
    assert.doesNotThrow(() => loadPolicy(at));
  });

  it('warden run --policy /dev/zero and warden serve --config /dev/zero end with one line and their exit codes', async (t) => {
    const run = await runWarden(['run', '--policy', '/dev/zero', fixture('..', '..', 'examples', 'hello.wasm')], { timeoutMs: 30_000 });
    assert.equal(run.code, 125, run.stderr);
    assert.match(run.stderr, /^warden run: \/dev\/zero: larger than 4 MiB, not a settings file\n$/);
    const serve = await runWarden(['serve', '--config', '/dev/zero', '--data-dir', tempDir(t)], { timeoutMs: 30_000 });
    assert.equal(serve.code, 2, serve.stderr);
    assert.match(serve.stderr, /^warden serve: \/dev\/zero: larger than 4 MiB, not a settings file\n$/);
  });
});

describe('trusted key files a policy names are read within a bound', () => {
  it('a trust.keys path that never ends is refused once past the bound, not read to its end', async (t) => {
    const dir = tempDir(t);
    const fifo = join(dir, 'endless.pub');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // Another process writes up to 8 MiB into the FIFO, and says how much it could write before the reader went away.
    const total = 8 * 1024 * 1024;
    const writer = spawn(process.execPath, ['-e', `
      const fs = require('node:fs');
      const fd = fs.openSync(process.argv[1], 'w');
      const chunk = Buffer.alloc(64 * 1024, 0x30);
      let written = 0;
      try { while (written < ${total}) written += fs.writeSync(fd, chunk); } catch {}
      process.stdout.write(String(written));
    `, fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    writer.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise((resolve) => writer.once('exit', resolve));
    t.after(() => { writer.kill('SIGKILL'); });
    const policy = join(dir, 'policy.toml');
    writeFileSync(policy, `[trust]\nkeys = [${JSON.stringify(fifo)}]\n`);
    assert.throws(() => loadPolicy(policy), (e: Error) => e instanceof PolicyError && /trust\.keys\[0\]: .*too large to be a key/.test(e.message));
    await exited;
    assert.ok(Number(out) < total, `the reader stopped early: ${out} of ${total} bytes were written`);
  });

  it('warden run with a trust key of /dev/zero ends with one line and exit 125', async (t) => {
    const dir = tempDir(t);
    const policy = join(dir, 'policy.toml');
    writeFileSync(policy, '[trust]\nkeys = ["/dev/zero"]\n');
    const run = await runWarden(['run', '--policy', policy, fixture('..', '..', 'examples', 'hello.wasm')], { timeoutMs: 30_000 });
    assert.equal(run.code, 125, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /trust\.keys\[0\]: .*too large to be a key/);
  });
});
