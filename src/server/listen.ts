// Opening a listener on HOST:PORT or a unix socket (mode 0600, a stale socket
// file replaced), answering with the address as printed; and a Listener that
// can move to another address while it serves (a reload).

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
    const failed = (error: Error) => reject(error);
    server.once('error', failed);
    const listening = () => { server.off('error', failed); resolve(); };
    if (address.kind === 'unix') listenOnOwnersSocket(server, address.path, listening);
    else server.listen(address.port, address.host, listening);
  });
  if (address.kind === 'unix') {
    // Where the umask could not be set (a worker thread), this is what makes the socket the owner's.
    chmodSync(address.path, 0o600);
    return formatListen(address);
  }
  const info = server.address() as AddressInfo;
  return formatListen({ kind: 'tcp', host: info.address, port: info.port });
}

/**
 * Binds a unix socket that only its owner can connect to from the moment it exists: made under umask 0177
 * (Node binds a socket synchronously inside listen()), where a chmod after listen() left it open to every
 * local user until then. The token is still asked of every request; this keeps other users from even
 * reaching the parser. Worker threads cannot set the umask: there the chmod after listening is all there is.
 */
function listenOnOwnersSocket(server: Server, path: string, listening: () => void): void {
  let previous: number | undefined;
  try {
    previous = process.umask(0o177);
  } catch { /* a worker thread */ }
  try {
    server.listen(path, listening);
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
}

export const sameAddress = (a: ListenAddress, b: ListenAddress): boolean => formatListen(a) === formatListen(b);

/**
 * An HTTP listener that can move. rebind() opens the new address with a new
 * server first; only when that worked is the old one retired: it accepts
 * nothing more, its idle keep-alive connections close, and requests in flight
 * on it finish and are answered there. A failed rebind leaves the old serving.
 */
export class Listener {
  private server: Server;
  /** Retired servers whose connections have not all ended yet. */
  private readonly retired = new Set<Server>();
  url = '';

  constructor(private readonly create: () => Server, public address: ListenAddress) {
    this.server = create();
  }

  async open(): Promise<string> {
    this.url = await listen(this.server, this.address);
    return this.url;
  }

  async rebind(address: ListenAddress, create: () => Server = this.create): Promise<string> {
    const next = create();
    let url: string;
    try {
      url = await listen(next, address);
    } catch (error) {
      next.close();
      throw error;
    }
    const old = this.server;
    const oldAddress = this.address;
    this.server = next;
    this.address = address;
    this.url = url;
    this.retired.add(old);
    old.close(() => {
      this.retired.delete(old);
      // The old socket file is ours to remove, unless the new listener took over its path.
      if (oldAddress.kind === 'unix' && !sameAddress(oldAddress, this.address)) removeSocket(oldAddress.path);
    });
    old.closeIdleConnections();
    return url;
  }

  /** Stops accepting on every server this listener has had. */
  close(): void {
    this.server.close();
    for (const old of this.retired) old.close();
  }

  closeIdleConnections(): void {
    this.server.closeIdleConnections();
    for (const old of this.retired) old.closeIdleConnections();
  }

  closeAllConnections(): void {
    this.server.closeAllConnections();
    for (const old of this.retired) old.closeAllConnections();
    if (this.address.kind === 'unix') removeSocket(this.address.path);
  }
}

function removeSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch { /* already gone */ }
}
