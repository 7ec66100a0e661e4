// A directory holding every kind of entry one name can be (a file, a
// directory, links inside, outside, dangling, looping and chained, and
// optionally a FIFO) beside a directory "outside" with a secret, and the two
// trees in comparable form: for tests that run one-name operations on it and
// check nothing outside changed.

import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

export function plantEntries(t: Parameters<typeof tempDir>[0], options: { fifo?: boolean } = {}): { root: string; outside: string } {
  const top = tempDir(t);
  const root = join(top, 'root');
  const outside = join(top, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'SECRET');
  writeFileSync(join(root, 'file'), 'FILE');
  mkdirSync(join(root, 'dir'));
  if (options.fifo) spawnSync('mkfifo', [join(root, 'fifo')]);
  writeFileSync(join(root, 'target'), 'TARGET');
  mkdirSync(join(root, 'target-dir'));
  symlinkSync('target', join(root, 'link-file'));
  symlinkSync('target-dir', join(root, 'link-dir'));
  symlinkSync('not-yet', join(root, 'link-dangling'));
  symlinkSync('../outside/secret', join(root, 'link-out'));
  symlinkSync('link-loop', join(root, 'link-loop'));
  symlinkSync('link-file', join(root, 'link-chain'));
  return { root, outside };
}

/** Both trees, each entry by name and kind (a file by its contents; a FIFO is never opened). */
export function entryTrees(root: string, outside: string): string {
  const tree = (at: string): string => readdirSync(at).sort().map((name) => {
    const stat = lstatSync(join(at, name));
    const kind = stat.isSymbolicLink() ? 'link' : stat.isDirectory() ? 'dir' : stat.isFIFO() ? 'fifo' : readFileSync(join(at, name), 'utf8');
    return `${name}:${kind}`;
  }).join(',');
  return `root ${tree(root)} | outside ${tree(outside)}`;
}
