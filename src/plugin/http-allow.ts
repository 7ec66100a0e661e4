// The hosts a policy grants plugins' http_request: exact origins (scheme,
// host and port), nothing wider. "http://127.0.0.1:8080" grants that port on
// that address over plain HTTP and nothing else: not another port, not
// https, not a name that resolves to the same address, not a subdomain.

/** An origin as the policy writes it, normalised ("https://Example.COM:443/" → "https://example.com"); null if it is not one. */
export function originOf(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  // An origin names no path, query, fragment or credentials: anything more is a mistake worth refusing.
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) return null;
  // A host exactly (a name, an IPv4 or a bracketed IPv6 address): `*.example.com` is no pattern here, and a grant it would look like.
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/.test(url.hostname)) return null;
  return url.origin;
}

/** Whether `url` (absolute) is allowed: its origin is one granted. Credentials in the URL do not change the origin. */
export function allowedUrl(url: URL, origins: readonly string[]): boolean {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return origins.includes(url.origin);
}

/** A URL as a denial record shows it: credentials written into it are dropped (they would reach the audit log), cut at 256 characters. */
export function urlForRecord(url: URL): string {
  if (!url.username && !url.password) return url.href.slice(0, 256);
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  return shown.href.slice(0, 256);
}
