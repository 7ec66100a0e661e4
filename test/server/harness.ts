// Starts the real `warden serve` in a child process on loopback, as an
// operator would, and talks to it over HTTP.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after } from 'node:test';
import { repoRoot, wardenBin } from '../helpers/paths.js';

export const TOKEN = 'test-admin-token-0123456789abcdef';
export const tenantsDir = join(repoRoot, 'examples', 'tenants');
export const fixture = (name: string): string => join(repoRoot, 'test', 'server', 'fixtures', name);
export const example = (name: string): string => join(tenantsDir, name);

export interface Served {
  url: string;
  admin: string;
  child: ChildProcess;
  stdout: string[];
  stderr: () => string;
  /** SIGTERM, then the exit code. */
  stop: () => Promise<number | null>;
  exited: Promise<number | null>;
}

export async function serve(t: { after: (fn: () => Promise<void> | void) => void }, options: { config?: string; dataDir: string; env?: Record<string, string>; args?: string[] }): Promise<Served> {
  const extra = options.args ?? [];
  const args = [wardenBin, 'serve', '--listen', '127.0.0.1:0', ...(extra.includes('--admin') ? [] : ['--admin', '127.0.0.1:0']), '--data-dir', options.dataDir, ...extra];
  if (options.config) args.push('--config', options.config);
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WARDEN_ADMIN_TOKEN: TOKEN, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      stdout.push(...lines);
      if (stdout.length >= 2) resolve();
    });
    void exited.then((code) => reject(new Error(`warden serve exited with ${code}: ${err}`)));
  });
  const served: Served = {
    url: stdout[0]!.replace(/^listening on /, ''),
    admin: stdout[1]!.replace(/^admin on /, '').replace(/^unix:.*/, ''),
    child, stdout, stderr: () => err, exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  return served;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function http(url: string, options: { method?: string; body?: string | Uint8Array; headers?: Record<string, string>; socketPath?: string } = {}): Promise<Reply> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({
      host: target.hostname, port: target.port, path: target.pathname + target.search, method: options.method ?? 'GET',
      headers: { ...(options.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(options.body)) } : {}), ...options.headers },
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export const admin = (served: Served, path: string, options: { method?: string; body?: string | Uint8Array; headers?: Record<string, string>; token?: string | null } = {}): Promise<Reply> =>
  http(served.admin + path, {
    ...options,
    headers: { ...(options.token === null ? {} : { Authorization: `Bearer ${options.token ?? TOKEN}` }), ...options.headers },
  });

export function writeConfig(dir: string, text: string): string {
  const path = join(dir, 'warden.toml');
  writeFileSync(path, text);
  return path;
}

/** Polls until `check` passes (bounded: no timing is asserted, only that it happens). */
export async function eventually(check: () => Promise<boolean>, what: string, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

/**
 * Hooks for a whole describe block, for the `serve` and `tempDir` helpers:
 * what they register runs after the block's last test, newest first. Called
 * inside the describe callback.
 */
export function suiteHooks(): { after: (fn: () => void | Promise<void>) => void } {
  const cleanups: Array<() => void | Promise<void>> = [];
  after(async () => { for (const fn of cleanups) await fn(); });
  return { after: (fn) => { cleanups.unshift(fn); } };
}
