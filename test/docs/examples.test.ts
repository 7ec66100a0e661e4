// The docs as a newcomer reads them: every `warden …` command line they show
// names a command that exists and flags that command takes, and every name
// their code samples import from 'wasm-warden' is one the package exports.
// (What the examples print is held by the tests of each feature.)

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as library from '../../src/index.js';
import { commands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';
import { repoRoot } from '../helpers/paths.js';

const docFiles = ['README.md', 'SECURITY.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
const docs = docFiles.map((file) => ({ file, text: readFileSync(join(repoRoot, file), 'utf8') }));

/** Shell words, quotes removed; enough for the docs' one-line commands. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Each `warden …` invocation in a fenced shell block or an inline code span, with where it was found. */
function wardenLines(): Array<{ where: string; argv: string[]; prose: boolean }> {
  const found: Array<{ where: string; argv: string[]; prose: boolean }> = [];
  for (const { file, text } of docs) {
    const shell = [...text.matchAll(/```(?:sh|bash|shell|console)\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n'));
    const inline = [...text.matchAll(/`([^`\n]*\bwarden [^`\n]*)`/g)].map((m) => m[1]!);
    for (const [index, line] of [...shell, ...inline].entries()) {
      // Commands joined by && or ;, piped or redirected: each part on its own; comments dropped.
      for (const part of line.replace(/^\s*\$ /, '').replace(/\s#.*$/, '').split(/&&|;|\||>/)) {
        const argv = words(part);
        while (argv.length && /^[A-Z_]+=/.test(argv[0]!)) argv.shift(); // VAR=value before the command
        if (argv[0] === 'npx') argv.shift();
        if (argv[0] !== 'warden' || !argv[1] || !Object.hasOwn(commands, argv[1])) continue;
        found.push({ where: `${file}: ${part.trim()}`, argv: argv.slice(1), prose: index >= shell.length });
      }
    }
  }
  return found;
}

describe('the docs', () => {
  it('show only warden commands that exist, with flags those commands take', async () => {
    const lines = wardenLines();
    assert.ok(lines.length > 60, `only ${lines.length} warden command lines found`);
    for (const { where, argv, prose } of lines) {
      // `--help` first: the command parses every flag (an unknown one is a usage error), then only prints its usage.
      let stderr = '';
      const code = await main([argv[0]!, '--help', ...argv.slice(1)], { stdout: () => {}, stderr: (t) => { stderr += t; }, env: {}, cwd: repoRoot, debug: false });
      // Prose may name a flag without its value ("`warden serve --config` reads …").
      if (prose && / needs a value\n$/.test(stderr)) continue;
      assert.equal(code, 0, `${where}\n  ${stderr.trim()}`);
    }
  });

  it('name every warden command somewhere a newcomer reads', () => {
    const readme = docs.find((d) => d.file === 'README.md')!.text;
    for (const name of Object.keys(commands)) assert.match(readme, new RegExp(`\`(warden )?${name}\\b`), `README.md does not mention warden ${name}`);
  });

  it('import from wasm-warden only names the package exports', () => {
    let imports = 0;
    for (const { file, text } of docs) {
      for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'wasm-warden'/g)) {
        for (const name of m[1]!.split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter((n) => n && n !== '…')) {
          imports++;
          // Types leave nothing at run time; the values a sample imports must be there.
          if (/^[A-Z][A-Za-z]*(Options|Input|Result|Spec|Policy|Report)$/.test(name)) continue;
          assert.ok(Object.hasOwn(library, name), `${file} imports ${name}, which wasm-warden does not export`);
        }
      }
    }
    assert.ok(imports >= 8, `only ${imports} imported names found`);
  });
});
