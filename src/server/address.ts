// Listen addresses: `HOST:PORT` (`[::1]:PORT` for IPv6) or `unix:PATH`.

export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** Parses a listen address, or returns the reason it is not one. */
export function parseListen(text: string, allowUnix: boolean): ListenAddress | string {
  if (text.startsWith('unix:')) {
    if (!allowUnix) return `'${text}' is a unix socket; this listener needs HOST:PORT`;
    const path = text.slice(5);
    if (!path.startsWith('/')) return `'${text}' needs an absolute path after unix:`;
    return { kind: 'unix', path };
  }
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (!match) return `'${text.slice(0, 80)}' is not HOST:PORT${allowUnix ? ' or unix:PATH' : ''}`;
  const port = Number(match[3]);
  if (port > 65535) return `port ${port} is out of range`;
  return { kind: 'tcp', host: match[1] ?? match[2]!, port };
}

export function formatListen(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `http://${host}:${address.port}`;
}
