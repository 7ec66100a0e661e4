// Opening a listener on HOST:PORT or a unix socket (mode 0600, a stale socket
// file replaced), answering with the address as printed.

import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatListen, type ListenAddress } from './address.js';

export async function listen(server: Server, address: ListenAddress): Promise<string> {
  if (address.kind === 'unix') {
    try {
      if (lstatSync(address.path).isSocket()) unlinkSync(address.path);
    } catch { /* no stale socket */ }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (address.kind === 'unix') server.listen(address.path, () => resolve());
    else server.listen(address.port, address.host, () => resolve());
  });
  if (address.kind === 'unix') {
    chmodSync(address.path, 0o600);
    return formatListen(address);
  }
  const info = server.address() as AddressInfo;
  return formatListen({ kind: 'tcp', host: info.address, port: info.port });
}
