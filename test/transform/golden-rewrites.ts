// Digests of what the rewriter produces for the corpus (every fixture, the
// large npm modules) under each kind of rewrite, so a change to how the
// rewriter finds its sites can be held to byte-identical output.
//
// Regenerate (only when the output is meant to change):
//   npm run build && node dist/test/transform/golden-rewrites.js --write

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModule } from '../../src/binary/decode.js';
import { checkIndices } from '../../src/binary/indices.js';
import { hardenModule, HARDEN_PASSES } from '../../src/transform/harden.js';
import { rewriteForRun, type TransformOptions } from '../../src/transform/index.js';
import { largeModulePaths, smallCorpus } from '../binary/corpus.js';
import { repoRoot } from '../helpers/paths.js';

export const goldenPath = join(repoRoot, 'test', 'transform', 'golden-rewrites.json');

const base = { memoryBytes: 16 * 65536, tableElements: 1000 };
export const variants: Record<string, TransformOptions & { harden?: boolean }> = {
  limits: { ...base, fuel: false },
  fuel: { ...base, fuel: true, fuelBudget: 10n ** 12n },
  checkpoint: { ...base, fuel: false, checkpoint: true },
  'fuel + checkpoint': { ...base, fuel: true, fuelBudget: 10n ** 12n, checkpoint: true },
  'harden + fuel + checkpoint': { ...base, fuel: true, fuelBudget: 10n ** 12n, checkpoint: true, harden: true },
};
/** The large modules take about a second each per variant: only the heaviest variant runs on them. */
export const largeVariants = ['fuel + checkpoint'];

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The rewrite of `bytes` under `variant`, as prepare composes it (hardening first, then the run rewrite). */
export function rewriteAs(bytes: Uint8Array, variant: TransformOptions & { harden?: boolean }): Uint8Array {
  let module = decodeModule(bytes);
  if (variant.harden) {
    const hardened = hardenModule(module, { passes: HARDEN_PASSES, lenient: true });
    if (hardened.bytes !== module.bytes) module = decodeModule(hardened.bytes, { validateBodies: false });
  }
  return rewriteForRun(module, variant).bytes;
}

/** The modules the digests cover: those valid as shipped (the rewriter's precondition). */
export async function goldenCorpus(): Promise<Array<{ name: string; bytes: Uint8Array; large: boolean }>> {
  const out: Array<{ name: string; bytes: Uint8Array; large: boolean }> = [];
  for (const m of await smallCorpus()) {
    if (!WebAssembly.validate(m.bytes)) continue;
    try { checkIndices(decodeModule(m.bytes)); } catch { continue; }
    out.push({ ...m, large: false });
  }
  for (const path of largeModulePaths) if (existsSync(path)) out.push({ name: path.slice(repoRoot.length + 1), bytes: new Uint8Array(readFileSync(path)), large: true });
  return out;
}

/** name → variant → sha256 of the rewritten bytes (or the error it threw). */
export async function computeDigests(): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const m of await goldenCorpus()) {
    const row: Record<string, string> = {};
    for (const [name, variant] of Object.entries(variants)) {
      if (m.large && !largeVariants.includes(name)) continue;
      try { row[name] = sha(rewriteAs(m.bytes, variant)); } catch (error) { row[name] = `error: ${(error as Error).message}`; }
    }
    out[m.name] = row;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  writeFileSync(goldenPath, JSON.stringify(await computeDigests(), null, 1) + '\n');
  console.log(`wrote ${goldenPath}`);
}
