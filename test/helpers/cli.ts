// Runs the real `warden` binary in a child process, as a user would.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wardenBin } from './paths.js';

// The data dir a run defaults to (its prepared-module cache, the store) is this test file's own, never the user's.
let dataHome: string | undefined;
function testDataHome(): string {
  if (!dataHome) {
    const dir = (dataHome = mkdtempSync(join(tmpdir(), 'warden-data-')));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return dataHome;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout's bytes as written (a module written to `-`). */
  stdoutBytes: Buffer;
}

export function runWarden(args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string | Uint8Array; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wardenBin, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', XDG_DATA_HOME: testDataHome(), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}
