// This process's peak resident set, from /proc/self/status (VmHWM). Not
// process.resourceUsage().maxRSS: Linux carries a spawning parent's peak
// into a child's ru_maxrss across exec, so a child started by a large test
// process would report the parent's size.

import { readFileSync } from 'node:fs';

export function peakRssBytes(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('no VmHWM in /proc/self/status');
  return Number(match[1]) * 1024;
}
