// Registry credentials, read only here at the edge: WARDEN_REGISTRY_USER and
// WARDEN_REGISTRY_PASSWORD, else the registry's `auths` entry in Docker's
// config.json ($DOCKER_CONFIG/config.json, else ~/.docker/config.json).
// Credential helpers (credsStore, credHelpers) are not consulted.

import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { readOpenedFile } from '../policy/read-text.js';
import type { Credentials } from '../store/http.js';
import type { CommandIO } from './io.js';

const MAX_CONFIG_BYTES = 1 << 20;

export function credentialsFrom(io: CommandIO, registry: string): { credentials?: Credentials } {
  const username = io.env.WARDEN_REGISTRY_USER;
  const password = io.env.WARDEN_REGISTRY_PASSWORD;
  if (username && password !== undefined) return { credentials: { username, password } };
  const fromDocker = dockerConfigCredentials(io, registry);
  return fromDocker ? { credentials: fromDocker } : {};
}

function dockerConfigCredentials(io: CommandIO, registry: string): Credentials | null {
  const dir = io.env.DOCKER_CONFIG || (io.env.HOME ? `${io.env.HOME}/.docker` : null);
  if (!dir) return null;
  let config: { auths?: Record<string, { auth?: unknown }> };
  try {
    const raw = readConfigFile(`${dir}/config.json`);
    if (!raw) return null;
    config = JSON.parse(raw.toString('utf8'));
  } catch {
    return null; // no (readable) Docker config: anonymous, as docker itself would be
  }
  const auths = config?.auths;
  if (typeof auths !== 'object' || auths === null) return null;
  for (const [key, entry] of Object.entries(auths)) {
    if (hostOf(key) !== registry || typeof entry?.auth !== 'string') continue;
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return null;
}

/** Docker config keys are `host[:port]` or a URL such as `https://host/v1/`. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

/**
 * A regular file of at most MAX_CONFIG_BYTES, else null. Read whole before the size was
 * looked at, a config.json that was a FIFO hung the pull for ever, and one linked to
 * /dev/zero read until memory ran out; O_NONBLOCK lets a FIFO open without a writer, to be skipped.
 */
function readConfigFile(path: string): Buffer | null {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_CONFIG_BYTES) return null;
    const bytes = readOpenedFile(fd, stat.size);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  } finally {
    closeSync(fd);
  }
}
