// warden serve takes SIGHUP and SIGTERM from the moment it says it is up: its
// handlers are in place before the listening lines are written, so a signal
// sent as soon as they are read reloads or drains, never kills the server.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { example, serve } from '../server/harness.js';
import { tempDir } from '../helpers/tmp.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

describe('warden serve: signals as soon as it is up', () => {
  it('a SIGHUP sent the moment the listening lines are read reloads (repeated: the window was small)', async (t) => {
    for (let i = 0; i < 8; i++) {
      const dir = tempDir(t);
      const config = join(dir, 'warden.toml');
      writeFileSync(config, `data-dir = "${dir}/data"\n[[tenant]]\nid = "hello"\nroutes = ["/hello/..."]\nmodule = "${example('hello.wasm')}"\n`);
      const served = await serve(t, { config, dataDir: `${dir}/data` });
      served.child.kill('SIGHUP');
      // Either the reload is logged or the process ended: a default SIGHUP ends it at once.
      const running = () => served.child.exitCode === null && served.child.signalCode === null;
      while (running() && !served.stderr().includes('"kind":"reload"')) await new Promise((r) => setTimeout(r, 20));
      assert.ok(running(), `attempt ${i}: the server ended on SIGHUP (${served.child.signalCode ?? served.child.exitCode})`);
      assert.equal(await served.stop(), 0);
    }
  });
});
