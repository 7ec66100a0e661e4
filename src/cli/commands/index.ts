// The command table. Each command lives in its own file and is loaded only
// when it runs, so `warden run` does not pay for the audit or signing code.

import type { Command } from '../io.js';
import { run } from './run-entry.js';

export interface CommandEntry {
  summary: string;
  load: () => Promise<{ run: Command }>;
}

export const commands: Record<string, CommandEntry> = {
  run,
  call: { summary: 'call a plugin function: bytes in, bytes out (Extism kernel ABI)', load: () => import('./call.js') },
  check: { summary: 'would a policy admit this module? (nothing runs)', load: () => import('./check.js') },
  inspect: { summary: 'static security audit of a module', load: () => import('./inspect.js') },
  ls: { summary: 'list the modules in the local store', load: () => import('./ls.js') },
  harden: { summary: 'compile memory-safety guards into a module', load: () => import('./harden.js') },
  push: { summary: 'store a module locally, or push a signed one to an OCI registry', load: () => import('./push.js') },
  pull: { summary: 'fetch a module from an OCI registry, pinned by digest', load: () => import('./pull.js') },
  init: { summary: 'write a commented starter policy (deny by default)', load: () => import('./init.js') },
  keygen: { summary: 'make an Ed25519 key pair for signing modules', load: () => import('./keygen.js') },
  sign: { summary: 'sign a module (wasmsign2 format)', load: () => import('./sign.js') },
  verify: { summary: 'verify a module\'s signatures against trusted keys', load: () => import('./verify.js') },
  serve: { summary: 'serve tenants\' modules over HTTP (WAGI), with an admin API', load: () => import('./serve.js') }, deploy: { summary: 'deploy a module to a tenant of a running server', load: () => import('./deploy.js') }, rollback: { summary: 'put a tenant back on its previous module', load: () => import('./rollback.js') },
};
