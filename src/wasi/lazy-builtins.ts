// Builtins that most runs never need, loaded on first use: `warden run` on a
// small module finishes in tens of milliseconds, and loading node:crypto and
// node:vm up front costs several of them.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let crypto: typeof import('node:crypto') | undefined;
let vm: typeof import('node:vm') | undefined;

export function lazyCrypto(): typeof import('node:crypto') {
  return (crypto ??= require('node:crypto') as typeof import('node:crypto'));
}

export function lazyVm(): typeof import('node:vm') {
  return (vm ??= require('node:vm') as typeof import('node:vm'));
}
