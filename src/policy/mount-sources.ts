// Are the policy's host mounts there? A missing directory is a mistake in the
// policy, so it is reported once, when a sandbox is created or a policy is
// checked, rather than as a refusal of every run. Runs still open each mount
// beneath-only when they start: this check is for messages, not security.

import { notFoundHint } from '../text/not-utf8.js';
import { statSync } from 'node:fs';
import { PolicyError } from './load.js';
import type { MountPolicy, Policy } from './policy.js';

/**
 * What is wrong with a mount's host path ("the directory /x does not exist"), or null when it is there
 * and of the right kind (tmpfs has none). For a message naming the mount as its reader knows it: a
 * policy key, or the command-line flag it came from.
 */
export function mountSourceProblem(mount: MountPolicy): string | null {
  if (mount.kind === 'tmpfs') return null;
  const want = mount.kind === 'host' ? 'directory' : 'file';
  let problem: string | null = null;
  try {
    const stat = statSync(mount.host);
    if (want === 'directory' && !stat.isDirectory()) problem = 'is not a directory';
    if (want === 'file' && !stat.isFile()) problem = 'is not a regular file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problem = (code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be reached (permission denied)' : `cannot be read (${code})`) + notFoundHint(mount.host, code);
  }
  return problem && `the ${want} ${mount.host} ${problem}`;
}

/** One problem per mount whose host path is missing or of the wrong kind, with its key path. */
export function mountSourceProblems(policy: Pick<Policy, 'mounts'>): string[] {
  const problems: string[] = [];
  policy.mounts.forEach((mount, i) => {
    const problem = mountSourceProblem(mount);
    if (problem) problems.push(`mount[${i}].host: ${problem}`);
  });
  return problems;
}

/** Throws a PolicyError listing every mount whose host path is missing. */
export function checkMountSources(policy: Pick<Policy, 'mounts'>, source?: string): void {
  const problems = mountSourceProblems(policy);
  if (problems.length) throw new PolicyError(problems, source);
}
