// Are the policy's host mounts there? A missing directory is a mistake in the
// policy, so it is reported once, when a sandbox is created or a policy is
// checked, rather than as a refusal of every run. Runs still open each mount
// beneath-only when they start: this check is for messages, not security.

import { statSync } from 'node:fs';
import { PolicyError } from './load.js';
import type { Policy } from './policy.js';

/** One problem per mount whose host path is missing or of the wrong kind, with its key path. */
export function mountSourceProblems(policy: Pick<Policy, 'mounts'>): string[] {
  const problems: string[] = [];
  policy.mounts.forEach((mount, i) => {
    if (mount.kind === 'tmpfs') return;
    const want = mount.kind === 'host' ? 'directory' : 'file';
    let problem: string | null = null;
    try {
      const stat = statSync(mount.host);
      if (want === 'directory' && !stat.isDirectory()) problem = 'is not a directory';
      if (want === 'file' && !stat.isFile()) problem = 'is not a regular file';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problem = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be reached (permission denied)' : `cannot be read (${code})`;
    }
    if (problem) problems.push(`mount[${i}].host: the ${want} ${mount.host} ${problem}`);
  });
  return problems;
}

/** Throws a PolicyError listing every mount whose host path is missing. */
export function checkMountSources(policy: Pick<Policy, 'mounts'>, source?: string): void {
  const problems = mountSourceProblems(policy);
  if (problems.length) throw new PolicyError(problems, source);
}
