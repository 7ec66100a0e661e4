// "Judge the module as shipped", under V8's defaults as `warden run` has them:
// structured mutations of the corpus and of generated modules (sections
// reordered, duplicated and cut, over-long and inflated counts, opcodes of
// every prefix, indices and block types moved, snippets of each proposal
// inserted) go through decode and `prepare` under several policies, and the
// oracle (admission-oracle.ts) must hold: no exception but a refusal, nothing
// admitted that V8 refuses, nothing rewritten into bytes V8 refuses, and a
// module V8 accepts refused only for a named reason. Seeded and bounded;
// `npm run fuzz` runs the same oracle for longer, with V8's flagged proposals on.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { admissionFindings } from './admission-oracle.js';
import { smallCorpus } from './corpus.js';
import { generateModule } from './generate.js';
import { structuredMutations } from './mutate-structure.js';

const holds = (bytes: Uint8Array) => {
  const findings = admissionFindings(bytes);
  assert.deepEqual(findings, [], `${findings.map((f) => `${f.kind} [${f.config}]: ${f.detail}`).join('\n')}\nmodule: ${Buffer.from(bytes).toString('hex').slice(0, 2000)}`);
};

describe('admission judges modules as V8 does, and rewrites only into modules V8 accepts', async () => {
  const corpus = (await smallCorpus()).filter((m) => m.bytes.length < 100_000 && WebAssembly.validate(m.bytes));

  it('on the corpus as it is', () => {
    assert.ok(corpus.length > 20);
    for (const m of corpus) holds(m.bytes);
  });

  it('on structured mutations of the corpus', () => {
    let valid = 0;
    fc.assert(fc.property(fc.constantFrom(...corpus), structuredMutations(), ({ bytes }, mutate) => {
      const mutated = mutate(bytes);
      if (WebAssembly.validate(mutated)) valid++;
      holds(mutated);
    }), { seed: 45, numRuns: 250 });
    // Not vacuous: a share of the mutants is valid, so admission and the rewrites meet them.
    assert.ok(valid >= 25, `V8 accepted only ${valid} of 250 mutants`);
  });

  it('on structured mutations of generated modules', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), structuredMutations(), (seed, mutate) => holds(mutate(generateModule(seed)))), { seed: 46, numRuns: 150 });
  });
});
