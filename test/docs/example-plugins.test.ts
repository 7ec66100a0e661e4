// docs/plugins.md's commands on the bundled example plugins, run as written: each
// line's trailing comment says what it prints (`# prints 42`, `# {"count":3,…}`)
// or how it ends (`# exit 134: out of fuel`), and the test holds the docs to it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';

interface DocExample { line: string; argv: string[]; input?: string; prints?: string; exit?: number; says?: string }

function shellWords(text: string): string[] {
  return [...text.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Lines of docs/plugins.md's shell blocks that run an example plugin, with the outcome their comment states. */
function examples(): DocExample[] {
  const text = readFileSync(join(repoRoot, 'docs/plugins.md'), 'utf8');
  const lines = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n'));
  return lines.filter((line) => line.includes('examples/plugins/')).map((line) => {
    const [command, comment = ''] = line.split(/\s+#\s+/, 2) as [string, string?];
    const piped = /^echo -n '([^']*)' \| (.*)$/.exec(command);
    const argv = shellWords(piped ? piped[2]! : command);
    assert.equal(argv.shift(), 'warden', line);
    const exit = /^exit (\d+): (.*)$/.exec(comment);
    return { line, argv, input: piped?.[1], ...(exit ? { exit: Number(exit[1]), says: exit[2] } : { prints: comment.replace(/^prints /, '') }) };
  });
}

describe('docs/plugins.md on examples/plugins', () => {
  it('prints what each command says it prints, and ends as each says it ends', async () => {
    const found = examples();
    assert.ok(found.length >= 6, `only ${found.length} example lines found`);
    for (const example of found) {
      const r = await runWarden(example.argv, { cwd: repoRoot, input: example.input });
      if (example.exit === undefined) {
        assert.equal(r.code, 0, `${example.line}\n${r.stderr}`);
        assert.equal(r.stdout.trim(), example.prints, example.line);
      } else {
        assert.equal(r.code, example.exit, `${example.line}\n${r.stderr}`);
        // The comment paraphrases the one-line refusal: its words appear in it.
        const said = example.says!.split(/[^a-z0-9=.]+/i).filter((w) => w.length > 2 && w !== '...');
        for (const word of said) assert.match(r.stderr, new RegExp(word.replace(/\./g, '\\.'), 'i'), `${example.line}\n${r.stderr}`);
      }
    }
  });
});
