// The modules every binary test runs over: C fixtures compiled here, .wat
// fixtures, and large real-world modules shipped in npm packages.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir, repoRoot } from '../helpers/paths.js';
import { watFixture } from '../helpers/wat.js';

export const largeModulePaths = [
  'node_modules/@resvg/resvg-wasm/index_bg.wasm',
  'node_modules/esbuild-wasm/esbuild.wasm',
  'node_modules/@yowasp/yosys/gen/yosys.core.wasm',
].map((p) => join(repoRoot, p));

function wasmFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return wasmFilesUnder(path);
    return entry.name.endsWith('.wasm') ? [path] : [];
  });
}

/** Small modules: every committed .wasm fixture and every .wat fixture, assembled. */
export async function smallCorpus(): Promise<Array<{ name: string; bytes: Uint8Array }>> {
  const out: Array<{ name: string; bytes: Uint8Array }> = wasmFilesUnder(fixturesDir).map((path) => ({ name: path.slice(fixturesDir.length + 1), bytes: new Uint8Array(readFileSync(path)) }));
  const watDir = join(fixturesDir, 'wat');
  for (const file of existsSync(watDir) ? readdirSync(watDir).sort() : []) {
    if (!file.endsWith('.wat')) continue;
    try {
      out.push({ name: `wat/${file}`, bytes: await watFixture(file.slice(0, -4), { names: true }) });
    } catch {
      // Some .wat fixtures are deliberately invalid (hostile-module tests); they are not corpus.
    }
  }
  return out;
}
