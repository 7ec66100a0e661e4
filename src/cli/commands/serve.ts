// warden serve [--config FILE] [--listen HOST:PORT] [--admin HOST:PORT|unix:PATH] [--data-dir DIR]

import { TokenError } from '../../server/admin-token.js';
import { parseListen, type ListenAddress } from '../../server/address.js';
import { ConfigError } from '../../server/config.js';
import { demoHints } from '../../server/demo.js';
import { batchLines } from '../../server/log-batch.js';
import { startServer, type StartedServer } from '../../server/start.js';
import { flag, parseArgs, parseDuration } from '../args.js';
import { dataDir as defaultDataDir } from '../data-dir.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { resolveFrom } from '../paths.js';

export const usage = `usage: warden serve [--config FILE] [--listen HOST:PORT] [--admin HOST:PORT|unix:PATH] [--data-dir DIR] [--grace DURATION]

Serves tenants' WebAssembly modules over HTTP (WAGI): each request runs a fresh
instance of the tenant's module with the tenant's data directory as its root
and no network. Without --config, serves a bundled demo of two tenants.

  --config FILE       the serve config (TOML; docs/serve.md, docs/serve.schema.json)
  --listen HOST:PORT  the HTTP listener (default: the config's, else 127.0.0.1:8080; port 0 picks one)
  --admin ADDR        the admin API listener (default: the config's, else 127.0.0.1:0)
  --data-dir DIR      tenants' roots, stored modules, deployments, the admin token
  --grace DURATION    how long SIGTERM waits for requests in flight (default: the config's, else 10s)

stdout: 'listening on http://HOST:PORT', then 'admin on …'. Logs: JSON lines on stderr.
SIGHUP reloads the config; SIGTERM drains, then exits 0. Exit 2 for bad usage, a config
that is not valid, an unusable admin token, or an address that cannot be bound.`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { config: { value: true }, listen: { value: true }, admin: { value: true }, 'data-dir': { value: true }, grace: { value: true }, help: {} });
  if (args.switches.has('help')) {
    io.stdout(usage + '\n');
    return ExitCode.OK;
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
  const listenFlag = address(flag(args, 'listen'), '--listen', false);
  const adminFlag = address(flag(args, 'admin'), '--admin', true);
  const graceFlag = flag(args, 'grace');
  // A bare number is refused: durations on the command line need their unit.
  if (graceFlag !== undefined && !/[a-z]\s*$/i.test(graceFlag)) throw new UsageError(`--grace: '${graceFlag}' needs a unit (e.g. 10s, 500ms)`);
  const graceMs = graceFlag !== undefined ? parseDuration(graceFlag, '--grace') : undefined;
  const dataFlag = flag(args, 'data-dir');
  const configPath = flag(args, 'config');
  // One write per event-loop turn; what is pending when the process exits (after SIGTERM's drain, or on a crash) is written then.
  const logLines = batchLines((text) => io.stderr(text));
  process.on('exit', logLines.flush);
  let started: StartedServer;
  try {
    started = await startServer({
      ...(configPath !== undefined ? { config: resolveFrom(io.cwd, configPath) } : {}),
      ...(dataFlag !== undefined ? { dataDir: resolveFrom(io.cwd, dataFlag) } : {}),
      defaultDataDir: () => defaultDataDir(undefined, io),
      ...(listenFlag ? { listen: listenFlag } : {}),
      ...(adminFlag ? { admin: adminFlag } : {}),
      env: io.env,
      log: logLines,
    });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TokenError) throw new InputError(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      const failed = error as NodeJS.ErrnoException & { address?: string; port?: number };
      const where = failed.port !== undefined ? `${failed.address}:${failed.port}` : failed.address ?? 'its address';
      throw new InputError(`cannot listen on ${where} (${code})`);
    }
    if (error instanceof UsageError) throw error;
    throw new InputError(error instanceof Error ? error.message : String(error));
  }
  const { server } = started;
  const log = server.log;
  // The handlers go in before the lines that say the server is up: whoever reads them may signal
  // at once, and a SIGHUP that came before its handler would end the process (its default action).
  let stopping = false;
  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => { exit = resolve; });
  const onHup = () => {
    server.reload().catch((error: unknown) => log.event({ kind: 'reload-failed', error: error instanceof Error ? error.message : String(error) }));
  };
  const onTerm = () => {
    if (stopping) return;
    stopping = true;
    process.off('SIGHUP', onHup);
    void server.stop(graceMs ?? server.config.settings.graceMs).then(() => {
      logLines.flush();
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onTerm);
      exit(ExitCode.OK);
    });
  };
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onTerm);
  io.stdout(`listening on ${server.url}\n`);
  io.stdout(`admin on ${server.adminUrl}\n`);
  if (!configPath) io.stdout(demoHints(server.url, started.adminToken, server.adminUrl));
  return exited;
}

function address(text: string | undefined, what: string, allowUnix: boolean): ListenAddress | undefined {
  if (text === undefined) return undefined;
  const parsed = parseListen(text, allowUnix);
  if (typeof parsed === 'string') throw new UsageError(`${what}: ${parsed}`);
  return parsed;
}
