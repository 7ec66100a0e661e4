// warden init [--out FILE] [--force] [--json]

import { PolicyError } from '../../policy/load.js';
import { loadPolicy } from '../../policy/read-file.js';
import { flag, parseArgs } from '../args.js';
import { ExitCode, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { entryExists, resolveFrom } from '../paths.js';
import { writeFileAtomic, writeNewFileAtomic } from '../write-atomic.js';
import { printJson, terminalSafe } from '../terminal-text.js';

export const usage = `usage: warden init [--out FILE] [--force] [--json]

Writes a starter policy: deny by default, every common grant shown commented out with
what it does. Then: warden check --policy FILE MODULE.wasm, warden run --policy FILE MODULE.wasm.

  --out FILE    where to write it (default policy.toml; '-': stdout)
  --force       overwrite FILE
  --json        the path and the policy's effective values, as JSON

Exit 0 when written (and validated); 2 for bad usage or when FILE exists without --force.`;

export const STARTER_POLICY = `# wasm-warden policy (docs/policy.md). Deny by default: as written, a module
# may write to stdout and stderr and nothing else. Uncomment what it needs.
# Relative paths (mounts, keys) are read from this file's directory.

# The guest's argv; \`warden run\` passes the module path and its arguments instead.
# args = ["app"]

# Clock: none (default), real, coarse:1ms, frozen, virtual:1ms. Needed by clock_time_get.
# clock = "coarse:1ms"

# Randomness: none (default), os, seeded:N. Needed by random_get.
# random = "os"

# Isolation: thread (default; worker threads) or process (a child process under
# Node's permission model).
# isolation = "thread"

# Environment variables: exactly these, nothing of the host's.
# [env]
# LANG = "C"

# A host directory, read-only (mode = "rw" to allow writes).
# [[mount]]
# host = "data"
# guest = "/data"
# mode = "ro"

# Empty scratch space, removed after each run.
# [[mount]]
# kind = "tmpfs"
# guest = "/tmp"

# WASI functions allowed beyond those the grants above imply.
# [imports]
# allow = ["sched_yield"]

[limits]
# Sizes need a unit or are bytes (64MiB, 1GiB); durations need a unit (500ms, 2s).
memory = "256MiB"
timeout = "10s"
# fuel = 1_000_000_000       # instructions; 0 = off
# output = "16MiB"           # stdout + stderr
# write = "64MiB"            # bytes written to files

# Run only modules signed by these keys (warden keygen; paths or base64:...).
# [trust]
# keys = ["publisher.pub"]
# require = 1                # distinct signers needed
`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { out: { value: true }, force: {}, json: {}, help: {} });
  if (args.switches.has('help')) { io.stdout(usage + '\n'); return ExitCode.OK; }
  if (args.positionals.length) throw new UsageError(`takes no arguments (got '${args.positionals[0]}'; use --out FILE)`);
  const out = flag(args, 'out') ?? 'policy.toml';
  if (out === '-') {
    // `-` is stdout, as a module argument `-` is stdin: never a file named '-'.
    if (args.switches.has('json')) throw new UsageError('--out - writes the policy itself to stdout; --json cannot share it');
    io.stdout(STARTER_POLICY);
    return ExitCode.OK;
  }
  const path = resolveFrom(io.cwd, out);
  if (args.switches.has('force')) writeFileAtomic(path, STARTER_POLICY);
  else {
    if (entryExists(path)) throw new UsageError(`${out} exists; pass --force to overwrite`);
    writeNewFileAtomic(path, STARTER_POLICY, 0o644, out);
  }
  let policy;
  try {
    policy = loadPolicy(path);
  } catch (error) {
    // The starter is validated by the tests; reaching this is a bug, not a user error.
    throw new Error(`the starter policy does not validate: ${(error as PolicyError).message}`);
  }
  if (args.switches.has('json')) {
    printJson(io, { policy: out, limits: policy.limits, isolation: policy.isolation, mounts: policy.mounts.length });
  } else {
    io.stdout(`wrote ${terminalSafe(out)} (deny by default; edit it, then: warden check --policy ${terminalSafe(out)} MODULE.wasm)\n`);
  }
  return ExitCode.OK;
}
