// warden call: bytes in, bytes out, exit statuses, as a user runs it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture, wardenBin } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const plugin = fixture('c', 'plugins', 'kernel-plugin.wasm');

describe('warden call', () => {
  it('writes the output bytes to stdout: input from a file or stdin, config from flags or a policy', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'in.bin'), 'hello, world');
    const echo = await runWarden(['call', plugin, 'echo', '--input', join(dir, 'in.bin')]);
    assert.equal(echo.code, 0, echo.stderr);
    assert.equal(echo.stdout, 'hello, world');
    const piped = await runWarden(['call', plugin, 'config', '--input', '-', '--config', 'greeting=hi there'], { input: 'greeting' });
    assert.equal(piped.stdout, 'hi there');
    writeFileSync(join(dir, 'policy.toml'), '[plugin]\nconfig = { greeting = "from the policy" }\n');
    const policy = await runWarden(['call', '--policy', join(dir, 'policy.toml'), plugin, 'config', '--input', '-'], { input: 'greeting' });
    assert.equal(policy.stdout, 'from the policy', policy.stderr);
  });

  it('--config takes any key, __proto__ and constructor too, with or without a policy under it', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'policy.toml'), '[plugin]\nconfig = { other = "1" }\n');
    for (const policy of [[], ['--policy', join(dir, 'policy.toml')]]) {
      for (const key of ['__proto__', 'constructor', 'toString']) {
        const r = await runWarden(['call', ...policy, plugin, 'config', '--input', '-', '--config', `${key}=set`], { input: key });
        assert.equal(r.stdout, 'set', `${key} ${policy.join(' ')}: ${r.stderr}`);
      }
    }
  });

  it('reads --input only up to the plugin memory limit: /dev/zero or a longer pipe is one line and 125, not the host\'s memory', async (t) => {
    const zero = await runWarden(['call', plugin, 'echo', '--input', '/dev/zero'], { timeoutMs: 30_000 });
    assert.equal(zero.code, 125, zero.stderr);
    assert.equal(zero.stderr, 'warden call: --input /dev/zero: larger than 64 MiB, the plugin memory limit (plugin.memory)\n');
    assert.equal(zero.stdout, '');
    const dir = tempDir(t);
    writeFileSync(join(dir, 'policy.toml'), '[plugin]\nmemory = "64KiB"\n');
    const within = 'x'.repeat(1000);
    const echoed = await runWarden(['call', '--policy', join(dir, 'policy.toml'), plugin, 'echo', '--input', '-'], { input: within });
    assert.equal(echoed.code, 0, echoed.stderr);
    assert.equal(echoed.stdout, within);
    const over = await runWarden(['call', '--policy', join(dir, 'policy.toml'), plugin, 'echo', '--input', '-'], { input: 'y'.repeat(64 * 1024 + 1) });
    assert.equal(over.code, 125, over.stderr);
    assert.equal(over.stderr, 'warden call: --input -: larger than 64 KiB, the plugin memory limit (plugin.memory)\n');
  });

  it('1 MiB of binary output arrives whole on a pipe', () => {
    const r = spawnSync(process.execPath, [wardenBin, 'call', plugin, 'big'], { maxBuffer: 4 << 20 });
    assert.equal(r.status, 0, String(r.stderr));
    assert.equal(r.stdout.length, 1 << 20);
    for (const i of [0, 255, 256, 65537, (1 << 20) - 1]) assert.equal(r.stdout[i], (i * 7 + Math.floor(i / 256)) & 0xff);
  });

  it('logs go to stderr; exit 1 with the plugin\'s error; 134 on a trap; 125 when refused', async () => {
    const log = await runWarden(['call', plugin, 'log']);
    assert.equal(log.code, 0);
    assert.equal(log.stdout, 'logged');
    assert.equal(log.stderr, 'info: an info line\nwarn: a warning\nerror: an error line\n');
    const fail = await runWarden(['call', plugin, 'fail']);
    assert.equal(fail.code, 1);
    assert.equal(fail.stderr, 'warden call: fail: the plugin failed on purpose\n');
    const trap = await runWarden(['call', plugin, 'overread']);
    assert.equal(trap.code, 134);
    assert.match(trap.stderr, /out-of-bounds: plugin read past the end of its input/);
    const refused = await runWarden(['call', plugin, 'nope']);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /export-missing/);
  });

  it('a plugin\'s log line and error cannot send terminal escapes or forge a line of warden\'s own', async () => {
    const hostile = '\x1b]0;owned\x07\x1b[2Jred\nwarden call: all good\r\u009b31m\ttab';
    const r = await runWarden(['call', plugin, 'shout', '--input', '-'], { input: hostile });
    assert.equal(r.code, 1);
    const shown = String.raw`\x1b]0;owned\x07\x1b[2Jred\x0awarden call: all good\x0d\x9b31m` + '\ttab';
    assert.equal(r.stderr, `info: ${shown}\nwarden call: shout: ${shown}\n`);
    assert.doesNotMatch(r.stderr, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  it('keeps the prepared module in the data dir as warden run does: the next call uses the entry, a tampered one is not trusted, --no-cache writes nothing', async (t) => {
    const data = tempDir(t);
    const first = await runWarden(['call', '--data-dir', data, plugin, 'echo', '--input', '-'], { input: 'one' });
    assert.equal(first.stdout, 'one', first.stderr);
    const cache = join(data, 'cache', 'prepared');
    const entries = readdirSync(cache).filter((n) => n.endsWith('.prep'));
    assert.equal(entries.length, 1, 'the first call wrote one entry');
    const again = await runWarden(['call', '--debug', '--data-dir', data, plugin, 'echo', '--input', '-'], { input: 'two' });
    assert.equal(again.stdout, 'two');
    assert.doesNotMatch(again.stderr, /cache/, 'the entry was used as it is');
    const path = join(cache, entries[0]!);
    const entry = readFileSync(path);
    entry[entry.length - 1] ^= 0xff;
    writeFileSync(path, entry);
    const tampered = await runWarden(['call', '--debug', '--data-dir', data, plugin, 'echo', '--input', '-'], { input: 'three' });
    assert.equal(tampered.stdout, 'three');
    assert.match(tampered.stderr, /warden call: cache: .*\.prep: not used/);
    const fresh = tempDir(t);
    const bypass = await runWarden(['call', '--no-cache', '--data-dir', fresh, plugin, 'echo', '--input', '-'], { input: 'four' });
    assert.equal(bypass.stdout, 'four');
    assert.deepEqual(readdirSync(fresh), [], '--no-cache made no cache directory');
  });
});
