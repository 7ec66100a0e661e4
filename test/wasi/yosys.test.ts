// A real program (slow: a few seconds): Yosys from @yowasp/yosys synthesizes
// an 8-bit counter, ABC step included, under `warden run` with its share
// directory, a scratch /tmp and a project directory mounted as separate
// preopens. Its cell counts must equal those of the same command under
// node:wasi. Yosys's ABC step lists a temporary directory with readdir: a '..'
// entry without an inode made wasi-libc stat '..' beneath the directory's
// descriptor, which leaves it (EPERM), and the run ended with exit 1.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { WASI } from 'node:wasi';
import { runWarden } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const gen = join(repoRoot, 'node_modules', '@yowasp', 'yosys', 'gen');
const yosys = join(gen, 'yosys.core.wasm');
const script = 'read_verilog /proj/counter.v; synth -top counter; tee -o /proj/stat.txt stat';
const counter = `module counter(input clk, input rst, output reg [7:0] q);
  always @(posedge clk)
    if (rst) q <= 8'd0;
    else q <= q + 8'd1;
endmodule
`;

type Tree = { [name: string]: string | Uint8Array | URL | Tree };

/** Lays out the package's share tree as @yowasp/yosys does (inline files, and URLs of files under gen/share). */
function writeTree(dir: string, tree: Tree): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(tree)) {
    const path = join(dir, name);
    if (typeof value === 'string' || value instanceof Uint8Array) writeFileSync(path, value);
    else if (value instanceof URL) copyFileSync(fileURLToPath(value), path);
    else writeTree(path, value);
  }
}

/** A fresh share, /tmp and project directory. */
async function layout(t: Parameters<typeof tempDir>[0]): Promise<{ share: string; tmp: string; proj: string }> {
  const root = tempDir(t);
  const resources = (await import(pathToFileURL(join(gen, 'resources-yosys.js')).href)) as { filesystem: { share: Tree } };
  const dirs = { share: join(root, 'share'), tmp: join(root, 'tmp'), proj: join(root, 'proj') };
  writeTree(dirs.share, resources.filesystem.share);
  mkdirSync(dirs.tmp);
  mkdirSync(dirs.proj);
  writeFileSync(join(dirs.proj, 'counter.v'), counter);
  return dirs;
}

/** The "Number of cells" block of Yosys's stat output: the total, then one line per cell type. */
function cells(stat: string): string[] {
  const lines = stat.split('\n');
  const start = lines.findIndex((line) => line.includes('Number of cells:'));
  assert.ok(start >= 0, `no cell count in:\n${stat}`);
  const block: string[] = [];
  for (let i = start; i < lines.length && lines[i]!.trim() !== ''; i++) block.push(lines[i]!.trim().replace(/\s+/g, ' '));
  return block;
}

describe('a real program: Yosys with ABC', () => {
  it('synthesizes an 8-bit counter with the same cells as under node:wasi', async (t) => {
    const warden = await layout(t);
    const r = await runWarden(['run', '--dir', `${warden.share}::/share`, '--dir', `${warden.tmp}::/tmp`, '--dir', `${warden.proj}::/proj`, yosys, '--', '-p', script], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
    const wardenCells = cells(readFileSync(join(warden.proj, 'stat.txt'), 'utf8'));

    const reference = await layout(t);
    // Yosys closes its stdout and stderr as it exits, and node:wasi closes the host descriptor with them.
    const sink = openSync('/dev/null', 'w');
    const wasi = new WASI({
      version: 'preview1',
      args: ['yosys', '-p', script],
      preopens: { '/share': reference.share, '/tmp': reference.tmp, '/proj': reference.proj },
      stdout: sink,
      stderr: sink,
      returnOnExit: true,
    });
    const instance = await WebAssembly.instantiate(new WebAssembly.Module(readFileSync(yosys)), wasi.getImportObject() as WebAssembly.Imports);
    assert.equal(wasi.start(instance), 0);
    const referenceCells = cells(readFileSync(join(reference.proj, 'stat.txt'), 'utf8'));

    assert.deepEqual(wardenCells, referenceCells);
    // Eight flip-flops for eight bits, and ABC's gates around them.
    assert.ok(wardenCells.some((line) => /\$_SDFF_PP0_ 8$/.test(line)), wardenCells.join('\n'));
    assert.ok(Number(/Number of cells: (\d+)/.exec(wardenCells[0]!)?.[1]) > 8);
  });
});
