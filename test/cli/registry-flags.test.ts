// warden pull and push refuse a size or deadline that cannot work (--max-size 0, --timeout 0s)
// as bad usage, before they open any connection: a loopback server counts what reaches it.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

let server: Server;
let port = 0;
let connections = 0;

before(async () => {
  server = createServer((socket) => { connections++; socket.destroy(); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const digest = `sha256:${'ab'.repeat(32)}`;

describe('registry flags that cannot work are refused before any connection', () => {
  it('pull --max-size: zero, under a byte, negative or not a size; pull and push --timeout 0', async (t) => {
    const cwd = tempDir(t);
    const pull = ['pull', `127.0.0.1:${port}/repo@${digest}`, '-o', 'out.wasm'];
    const cases: Array<[string[], RegExp]> = [
      [[...pull, '--max-size', '0'], /^warden pull: --max-size: '0' must be at least 1 byte\n$/],
      [[...pull, '--max-size=0B'], /^warden pull: --max-size: '0B' must be at least 1 byte\n$/],
      [[...pull, '--max-size', '0.5'], /^warden pull: --max-size: '0.5' must be at least 1 byte\n$/],
      [[...pull, '--max-size=-1'], /^warden pull: --max-size: '-1' is not a size/],
      [[...pull, '--max-size', 'lots'], /^warden pull: --max-size: 'lots' is not a size/],
      [[...pull, '--timeout', '0s'], /^warden pull: --timeout: '0s' must be longer than 0\n$/],
      [['push', '--oci', `127.0.0.1:${port}/repo:tag`, '--timeout', '0ms', fixture('c', 'hello.wasm')], /^warden push: --timeout: '0ms' must be longer than 0\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await runWarden(args, { cwd });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    }
    assert.equal(connections, 0);
    // The counter counts: a size that can work goes on to the (closing) server.
    const reached = await runWarden([...pull, '--max-size', '1'], { cwd });
    assert.equal(reached.code, 2, reached.stderr);
    assert.ok(connections > 0);
  });
});
