// The bundled demo: what `warden serve` serves with no config. Two example
// tenants (a hello handler and a key/value store) with the serve defaults,
// their modules from the package's examples/tenants.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, type ServeConfig } from './config.js';

/** The package root: found from this file (ESM) or from the CLI bundle's directory. */
export function packageRoot(): string {
  let dir = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'wasm-warden') return dir;
      } catch { /* not ours */ }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('the wasm-warden package directory (with examples/tenants) was not found');
    dir = parent;
  }
}

export const DEMO_TENANTS = [
  { id: 'hello', routes: ['/t/hello/...'], module: 'examples/tenants/hello.wasm' },
  { id: 'kv', routes: ['/t/kv/...'], module: 'examples/tenants/kv.wasm' },
];

export function demoConfig(dataDir: string): ServeConfig & { dataDir: string } {
  const root = packageRoot();
  return parseConfig({ tenant: DEMO_TENANTS }, 'the bundled demo', root, { dataDir, defaultDataDir: () => dataDir });
}

/** What to print after the listening lines: each tenant's URL and something to try. */
export function demoHints(url: string, tokenSource: { file: string | null; source: string }, admin: string): string {
  const adminCurl = admin.startsWith('unix:') ? `--unix-socket ${admin.slice(5)} http://admin` : admin;
  const token = tokenSource.file ? `$(cat ${tokenSource.file})` : '$WARDEN_ADMIN_TOKEN';
  return [
    '',
    'demo tenants:',
    `  hello  ${url}/t/hello/`,
    `         curl ${url}/t/hello/`,
    `  kv     ${url}/t/kv/`,
    `         curl -X PUT --data 'hi there' ${url}/t/kv/greeting`,
    `         curl ${url}/t/kv/greeting`,
    `admin token: ${tokenSource.source}`,
    `         curl -H "Authorization: Bearer ${token}" ${adminCurl}/tenants`,
    '',
  ].join('\n');
}
