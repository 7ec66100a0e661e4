// The data dir (module store, server state): --data-dir, else
// $WARDEN_DATA_DIR, else $XDG_DATA_HOME/wasm-warden, else ~/.local/share/wasm-warden.

import { resolveFrom } from './paths.js';
import type { CommandIO } from './io.js';
import { UsageError } from './errors.js';

export function dataDir(flagValue: string | undefined, io: CommandIO): string {
  if (flagValue) return resolveFrom(io.cwd, flagValue);
  const env = io.env;
  if (env.WARDEN_DATA_DIR) return resolveFrom(io.cwd, env.WARDEN_DATA_DIR);
  if (env.XDG_DATA_HOME) return `${resolveFrom(io.cwd, env.XDG_DATA_HOME)}/wasm-warden`;
  if (env.HOME) return `${env.HOME}/.local/share/wasm-warden`;
  throw new UsageError('no data dir: pass --data-dir or set WARDEN_DATA_DIR');
}
