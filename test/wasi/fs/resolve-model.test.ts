// Path resolution against a model. fast-check builds random trees of files,
// directories and symlinks (targets may hold `..`, `.`, absolute paths and
// trailing slashes) in a real temp directory, then resolves random paths
// through the host-directory capability; a small model of beneath-only
// resolution must predict the same node or the same error for every path.
// A second property drives random symlink, rename, link and mkdir calls, as a
// guest would, and checks that no link left in the host tree leads a host
// program that follows it out of the mount.

import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Errno, WasiError } from '../../../src/wasi/errno.js';
import { hostDirectory } from '../../../src/wasi/fs/host-directory.js';
import { createQuota } from '../../../src/wasi/fs/quota.js';
import { linksLeadingOut } from './host-tree.js';

type Node = { kind: 'file' } | { kind: 'dir'; entries: Map<string, Node> } | { kind: 'link'; target: string };
const NAMES = ['a', 'b', 'c'];

const pathArb = fc.tuple(
  fc.boolean(),
  fc.array(fc.constantFrom('a', 'b', 'c', '..', '.'), { minLength: 1, maxLength: 5 }),
  fc.boolean(),
).map(([absolute, parts, slash]) => (absolute ? '/' : '') + parts.join('/') + (slash ? '/' : ''));

const nodeArb: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.nat(9).map((): Node => ({ kind: 'file' })),
    pathArb.map((target): Node => ({ kind: 'link', target })),
    fc.dictionary(fc.constantFrom(...NAMES), tie('node'), { maxKeys: 3 }).map((d): Node => ({ kind: 'dir', entries: new Map(Object.entries(d)) })),
  ),
})).node;

const rootArb = fc.dictionary(fc.constantFrom(...NAMES), nodeArb, { maxKeys: 3 }).map((d): Node => ({ kind: 'dir', entries: new Map(Object.entries(d)) }));

function build(dir: string, node: Node & { kind: 'dir' }): void {
  for (const [name, child] of node.entries) {
    const path = join(dir, name);
    if (child.kind === 'file') writeFileSync(path, name);
    else if (child.kind === 'link') symlinkSync(child.target, path);
    else { mkdirSync(path); build(path, child); }
  }
}

type Outcome = { node: Node } | { errno: number };

/** Beneath-only resolution, as docs/wasi.md states it, over the model tree. */
function model(root: Node & { kind: 'dir' }, path: string, follow: boolean): Outcome {
  if (path.startsWith('/')) return { errno: Errno.PERM };
  // Without following, trailing slashes after a name are dropped: the name itself is stat'ed (as Wasmtime 49).
  if (!follow && /[^/]\/+$/.test(path)) path = path.replace(/\/+$/, '');
  const queue = path.split('/').filter((p) => p !== '');
  let trailing = path.endsWith('/');
  const stack: Array<Node & { kind: 'dir' }> = [root];
  let links = 0;
  for (;;) {
    if (queue.length === 0) return { node: stack[stack.length - 1]! };
    const name = queue.shift()!;
    const final = queue.length === 0;
    if (name === '.') continue;
    if (name === '..') {
      if (stack.length === 1) return { errno: Errno.PERM };
      stack.pop();
      continue;
    }
    const entry = stack[stack.length - 1]!.entries.get(name);
    if (final && !(follow || trailing)) return entry ? { node: entry } : { errno: Errno.NOENT };
    if (!entry) return { errno: Errno.NOENT };
    if (entry.kind === 'link') {
      if (++links > 40) return { errno: Errno.LOOP };
      if (entry.target.startsWith('/')) return { errno: Errno.PERM };
      const parts = entry.target.split('/').filter((p) => p !== '');
      if (final) { queue.push(...parts); trailing = trailing || entry.target.endsWith('/'); }
      else queue.unshift(...parts);
      continue;
    }
    if (entry.kind === 'file') return final && !trailing ? { node: entry } : { errno: Errno.NOTDIR };
    if (final) return { node: entry };
    stack.push(entry);
  }
}

describe('path resolution against a model', () => {
  it('agrees on the resolved node or the error for random trees and paths', () => {
    const base = mkdtempSync(join(tmpdir(), 'warden-model-'));
    let case_ = 0;
    try {
      fc.assert(fc.property(rootArb, fc.array(fc.tuple(pathArb, fc.boolean()), { minLength: 1, maxLength: 12 }), (root, probes) => {
        const dir = join(base, String(case_++));
        mkdirSync(dir);
        build(dir, root as Node & { kind: 'dir' });
        // Inode of each model node, from the real tree.
        const inodes = new Map<Node, bigint>();
        const index = (path: string, node: Node) => {
          inodes.set(node, lstatSync(path, { bigint: true }).ino);
          if (node.kind === 'dir') for (const [name, child] of node.entries) index(join(path, name), child);
        };
        index(dir, root);
        const capability = hostDirectory(dir, { quota: createQuota({ maxWriteBytes: 0, maxFilesCreated: 0 }), now: () => 0n });
        try {
          for (const [path, follow] of probes) {
            const expected = model(root as Node & { kind: 'dir' }, path, follow);
            let actual: Outcome;
            try {
              const stat = capability.statAt(path, follow);
              actual = { node: [...inodes].find(([, ino]) => ino === stat.ino)?.[0] ?? ({ kind: 'file' } as Node) };
            } catch (error) {
              if (!(error instanceof WasiError)) throw error;
              actual = { errno: error.errno };
            }
            if ('errno' in expected) assert.deepEqual(actual, expected, `${path} (follow ${follow})`);
            else assert.ok('node' in actual && actual.node === expected.node, `${path} (follow ${follow}): expected a node, got ${JSON.stringify(actual)}`);
          }
        } finally {
          capability.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }), { seed: 17, numRuns: 300 });
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('leaves no link in the host tree that leads out, whatever symlinks, renames and links a guest makes', () => {
    const base = mkdtempSync(join(tmpdir(), 'warden-links-'));
    const names = ['a', 'b', 'l', 'm'];
    const target = fc.tuple(fc.array(fc.constantFrom('a', 'b', 'l', 'm', '..', '.'), { minLength: 1, maxLength: 6 }), fc.boolean())
      .map(([parts, slash]) => parts.join('/') + (slash ? '/' : ''));
    const place = fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
    const op = fc.oneof(
      fc.tuple(fc.constant('symlink' as const), target, place),
      fc.tuple(fc.constant('mkdir' as const), place, fc.constant('')),
      fc.tuple(fc.constant('rename' as const), place, place),
      fc.tuple(fc.constant('link' as const), place, place),
    );
    let case_ = 0;
    try {
      fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) => {
        const dir = join(base, String(case_++));
        mkdirSync(dir);
        const capability = hostDirectory(dir, { quota: createQuota({ maxWriteBytes: 1 << 30, maxFilesCreated: 1000 }), now: () => 0n });
        try {
          for (const [kind, x, y] of ops) {
            try {
              if (kind === 'symlink') capability.symlink(x, y);
              else if (kind === 'mkdir') capability.createDirectory(x);
              else if (kind === 'rename') capability.rename(x, capability, y);
              else capability.link(x, false, capability, y);
            } catch (error) {
              if (!(error instanceof WasiError)) throw error;
            }
          }
          assert.deepEqual(linksLeadingOut(dir), [], JSON.stringify(ops));
        } finally {
          capability.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }), {
        seed: 23,
        numRuns: 300,
        // Two links, each inside on its own, that together climb out: `a/l` -> `..`, then `m` -> `a/l/..`;
        // a link moved up a level, on its own or inside its directory.
        examples: [
          [[['mkdir', 'a', ''], ['symlink', '..', 'a/l'], ['symlink', 'a/l/..', 'm']]],
          [[['mkdir', 'a', ''], ['symlink', '../b', 'a/l'], ['rename', 'a/l', 'l']]],
          [[['mkdir', 'a', ''], ['symlink', '../b', 'a/l'], ['link', 'a/l', 'm']]],
          [[['mkdir', 'a', ''], ['mkdir', 'a/b', ''], ['symlink', '../../m', 'a/b/l'], ['rename', 'a/b', 'b']]],
        ],
      });
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
