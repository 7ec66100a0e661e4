// Reading a policy file: TOML unless the name ends in .json.

import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { parsePolicy, PolicyError } from './load.js';
import type { Policy } from './policy.js';

export function loadPolicy(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PolicyError([`cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`], path);
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseToml(text);
  } catch (error) {
    throw new PolicyError([`not valid ${path.endsWith('.json') ? 'JSON' : 'TOML'}: ${(error as Error).message.split('\n')[0]}`], path);
  }
  const slash = path.lastIndexOf('/');
  return parsePolicy(raw, path, slash > 0 ? path.slice(0, slash) : slash === 0 ? '/' : '.');
}
