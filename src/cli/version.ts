// The package's version for --version, found from where this file runs
// (dist/cli/warden.cjs or warden-run.cjs when bundled, dist/src/cli/ when not).

import { packageVersionFrom } from '../version.js';

declare const __dirname: string | undefined;

export function packageVersion(): string {
  return packageVersionFrom(typeof __dirname === 'string' ? __dirname : new URL('.', import.meta.url).pathname);
}
