// The hash of wasm-warden's compiled code (every .js file under dist/src, in
// sorted order, each named and then read), which keys prepared-module entries
// to the build that wrote them: a rewriter changed without a new version
// number never reads entries an older one wrote.
//
// Computed once when the CLI is bundled (tools/bundle-cli.js defines it in the
// bundle, so a start does not read and hash the 600 KB bundle), and at first
// use by the library running from dist/src. Both hash the same files the same
// way, so the CLI and the library share entries.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';

/** The hex SHA-256 of the .js files under `root` (dist/src), 16 digits. */
export function codeHashOf(root: string): string {
  const hash = createHash('sha256');
  for (const file of codeFiles(root)) hash.update(file).update(readFileSync(`${root}/${file}`));
  return hash.digest('hex').slice(0, 16);
}

function codeFiles(root: string, under = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(`${root}/${under}`).sort()) {
    const rel = under ? `${under}/${name}` : name;
    if (statSync(`${root}/${rel}`).isDirectory()) out.push(...codeFiles(root, rel));
    else if (name.endsWith('.js')) out.push(rel);
  }
  return out;
}
