// WASI hosts side by side: wasm-warden (through its CLI, with its defaults,
// coarse clock included) beside node:wasi, @bjorn3/browser_wasi_shim,
// and @tybys/wasm-util, each run in a fresh process as a user
// would start it. Runs are interleaved across hosts to spread machine noise;
// the table gives medians, p99 and same-run ratios to node:wasi.
//
//   npm run bench:wasi [-- --runs 10 --quick --json]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, percentile, table } from './stats.js';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const quick = process.argv.includes('--quick');
const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag >= 0 ? Number(process.argv[runsFlag + 1]) : quick ? 3 : 10;
const fixture = (name: string) => join(root, 'test', 'fixtures', 'c', name);

interface Workload { name: string; module: string; args: string[]; }
const workloads: Workload[] = [
  { name: 'hello', module: fixture('hello.wasm'), args: [] },
  { name: `${quick ? 8 : 64} MiB in 4 KiB writes`, module: fixture('bench/write.wasm'), args: [quick ? '8' : '64'] },
  { name: `${quick ? 200 : 2000} files`, module: fixture('bench/files.wasm'), args: ['/sandbox', quick ? '200' : '2000'] },
  { name: 'clock + random', module: fixture('bench/clocks.wasm'), args: quick ? ['100000', '10000'] : ['1000000', '100000'] },
  { name: `SHA-256 of ${quick ? 8 : 64} MiB`, module: fixture('bench/sha256.wasm'), args: [quick ? '8' : '64'] },
];

const peerRunner = join(root, 'dist', 'bench', 'peers', 'run-peer.js');
const hosts: Array<{ name: string; command: (w: Workload, dir: string) => string[] }> = [
  { name: 'wasm-warden', command: (w, dir) => [join(root, 'bin', 'warden.cjs'), 'run', '--dir', `${dir}::/sandbox`, w.module, '--', ...w.args] },
  // @extism/extism is left out: its Node build returns from a WASI command's _start without
  // doing the work (bench/README.md), so its times would mislead.
  ...['node-wasi', 'browser-wasi-shim', 'wasm-util'].map((peer) => ({
    name: peer,
    command: (w: Workload, dir: string) => ['--no-warnings', peerRunner, peer, dir, w.module, ...w.args],
  })),
];

const devNull = openSync('/dev/null', 'w');
const samples = new Map<string, number[]>();
const failures = new Map<string, string>();

for (const workload of workloads) {
  for (let run = 0; run < runs + 1; run++) {
    for (const host of hosts) {
      const key = `${workload.name}\0${host.name}`;
      if (failures.has(key)) continue;
      const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
      const started = process.hrtime.bigint();
      const child = spawnSync(process.execPath, host.command(workload, dir), { stdio: ['ignore', devNull, 'pipe'], env: {}, timeout: 120_000 });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      rmSync(dir, { recursive: true, force: true });
      if (child.status !== 0) {
        failures.set(key, (child.stderr?.toString().trim().split('\n')[0] || `exit ${child.status}`).slice(0, 60));
        continue;
      }
      if (run === 0) continue; // warm-up: file cache, JIT of the runner scripts
      (samples.get(key) ?? samples.set(key, []).get(key)!).push(ms);
    }
  }
}

const rows: Array<Array<string | number>> = [];
const json: Array<Record<string, unknown>> = [];
for (const workload of workloads) {
  const base = samples.get(`${workload.name}\0node-wasi`);
  const baseMedian = base ? median(base) : NaN;
  for (const host of hosts) {
    const key = `${workload.name}\0${host.name}`;
    const times = samples.get(key);
    const failure = failures.get(key);
    const note = host.name === 'browser-wasi-shim' && workload.name.includes('files') ? ' (in-memory fs)' : '';
    if (!times) {
      rows.push([workload.name, host.name, 'n/a', '', '', failure ?? '']);
      continue;
    }
    const m = median(times);
    rows.push([workload.name, host.name + note, m.toFixed(1), percentile(times, 99).toFixed(1), (m / baseMedian).toFixed(2), '']);
    json.push({ workload: workload.name, host: host.name, medianMs: m, p99Ms: percentile(times, 99), ratioToNodeWasi: m / baseMedian, runs: times.length });
  }
}
if (process.argv.includes('--json')) console.log(JSON.stringify(json, null, 2));
else {
  console.log(`WASI hosts, fresh process per run, ${runs} runs each (+1 warm-up), wall ms\n`);
  console.log(table(['workload', 'host', 'median', 'p99', 'x node:wasi', 'note'], rows));
  console.log('\nRatios are medians over node:wasi\'s from this same run: below 1 is faster than node:wasi.');
}
