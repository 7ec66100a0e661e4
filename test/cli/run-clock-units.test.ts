// A clock resolution is a duration: on the command line, as in a policy file's
// strings, it needs its unit (a bare `coarse:1` would make the unit a guess).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseClockPolicy } from '../../src/wasi/clocks.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const hello = fixture('c', 'hello.wasm');

describe('clock resolutions need a unit', () => {
  it('warden run --clock coarse:1 / virtual:5 is refused (125) with one line naming the units', async () => {
    for (const clock of ['coarse:1', 'virtual:5']) {
      const r = await runWarden(['run', '--clock', clock, hello]);
      assert.equal(r.code, 125, `${clock}: ${r.stderr}`);
      assert.match(r.stderr, /--clock: '\d+' has no unit: give one of ns, us, ms, s/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const ok = await runWarden(['run', '--clock', 'coarse:1ms', hello]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('a policy file\'s clock = "coarse:1" is refused as its other unitless durations are', async (t) => {
    const policy = join(tempDir(t), 'p.toml');
    writeFileSync(policy, 'clock = "coarse:1"\n');
    const r = await runWarden(['run', '--policy', policy, hello]);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /has no unit: give one of ns, us, ms, s/);
  });

  it('the library parser reads units and refuses a bare number', () => {
    assert.deepEqual(parseClockPolicy('coarse:5us'), { kind: 'coarse', resolutionNs: 5000n });
    assert.throws(() => parseClockPolicy('coarse:1'), /has no unit: give one of ns, us, ms, s/);
  });
});

describe('warden run --help', () => {
  it('describes --max-write as the storage charge, not bytes written', async () => {
    const r = await runWarden(['run', '--help']);
    assert.equal(r.code, 0);
    const line = r.stdout.split('\n').find((l) => l.includes('--max-write'))!;
    assert.doesNotMatch(line, /bytes written to files/);
    assert.match(r.stdout, /--max-write SIZE {8}storage the guest makes the host keep/);
  });
});
