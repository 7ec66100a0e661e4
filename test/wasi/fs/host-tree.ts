// What a guest left in a host directory tree, measured on the host itself.

import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** st_blocks (512-byte units) of everything beneath `root`, root included. */
export function hostTreeBlocks(root: string): number {
  const stat = lstatSync(root);
  let blocks = stat.blocks;
  if (stat.isDirectory()) for (const name of readdirSync(root)) blocks += hostTreeBlocks(join(root, name));
  return blocks;
}

/**
 * Where a host program following `parts` from the directory `start` (names
 * below `root`) would land, resolving `..` physically and following links the
 * way the kernel does; names that do not exist yet are taken as written (they
 * might be created later). 'out' when it would go above `root`.
 */
function land(root: string, start: string[], parts: string[], budget: { links: number }): string[] | 'out' {
  const stack = [...start];
  let missing = false;
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return 'out';
      stack.pop();
      continue;
    }
    if (missing) {
      stack.push(part);
      continue;
    }
    let isLink = false;
    try {
      isLink = lstatSync(join(root, ...stack, part)).isSymbolicLink();
    } catch {
      missing = true;
    }
    if (!isLink) {
      stack.push(part);
      continue;
    }
    if (--budget.links < 0) return stack; // a loop: the kernel gives up with ELOOP
    const target = readlinkSync(join(root, ...stack, part));
    if (target.startsWith('/')) return 'out';
    const landed = land(root, stack, target.split('/'), budget);
    if (landed === 'out') return 'out';
    stack.splice(0, stack.length, ...landed);
  }
  return stack;
}

/** Every symlink beneath `root` that a host program following it could be led out of `root` by (paths relative to root). */
export function linksLeadingOut(root: string): string[] {
  const found: string[] = [];
  const visit = (dir: string[]): void => {
    for (const name of readdirSync(join(root, ...dir))) {
      const stat = lstatSync(join(root, ...dir, name));
      if (stat.isDirectory()) visit([...dir, name]);
      else if (stat.isSymbolicLink()) {
        const target = readlinkSync(join(root, ...dir, name));
        if (target.startsWith('/') || land(root, dir, target.split('/'), { links: 40 }) === 'out') found.push([...dir, name].join('/'));
      }
    }
  };
  visit([]);
  return found;
}
