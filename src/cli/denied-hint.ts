// The line `warden run` adds after a failed run whose grant refused something
// the guest tried: the guest's own message rarely says so ("no such file",
// "Read-only file system"), and the flag that would have allowed it is not
// in it at all.

import type { DeniedAttempt } from '../wasi/context.js';
import { terminalSafe } from './terminal-text.js';

/** What each refusal means, and the flag that grants it. */
const reasons: Record<string, string> = {
  PERM: 'it leads out of its mount; grant the directory it needs with --dir HOST[::GUEST]',
  ROFS: 'the mount is read-only; grant it with --dir instead of --dir-ro to allow writes',
  DQUOT: 'the write quota is spent; raise --max-write or --max-files',
  MFILE: 'every descriptor is taken; raise --max-fds',
  NOTSOCK: 'no sockets are ever granted',
  ACCES: 'the host refused access to it',
};

/**
 * One line naming the first refused attempt, why it was refused and the fix,
 * for a run that failed; null when it succeeded or nothing was refused. The
 * path is the guest's, escaped for the terminal.
 */
export function deniedHint(run: { exitCode: number | null; denied: readonly DeniedAttempt[]; deniedCount: number }): string | null {
  const first = run.denied[0];
  if (run.exitCode === 0 || !first) return null;
  // The guest's path, cut: it may be as long as the host lets a path be, and this is one line.
  const path = first.path === undefined ? '' : ` "${terminalSafe(first.path.length > 160 ? `${first.path.slice(0, 160)}…` : first.path)}"`;
  const reason = reasons[first.errno] ?? 'the grant does not allow it';
  const more = run.deniedCount > 1 ? ` (and ${run.deniedCount - 1} more: --report FILE lists them)` : '';
  return `hint: the grant refused ${first.call}${path} (E${first.errno}): ${reason}${more}`;
}
