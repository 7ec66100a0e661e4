// Routes choose the tenant. A route is a path (`/t/hello` matches exactly,
// `/t/hello/...` matches it and everything below, WAGI-style), optionally
// after a host name (`api.example.com/...`, or `api.example.com` alone for
// every path on that host). The longest path wins; a route naming the host
// beats one that does not.

export interface Route {
  /** As written in the config (reported to the guest as X_MATCHED_ROUTE). */
  text: string;
  host: string | null;
  /** The path without a trailing `/...`. */
  path: string;
  wildcard: boolean;
}

export interface RouteMatch<T> {
  target: T;
  route: Route;
  /** SCRIPT_NAME: the matched path (raw, as the client sent it). */
  scriptName: string;
  /** The rest of the raw path after SCRIPT_NAME. */
  rawPathInfo: string;
}

const HOST = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$/;
const PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%\/-]*$/;

/** Parses one route, or returns the reason it is not one. */
export function parseRoute(text: string): Route | string {
  let host: string | null = null;
  let rest = text;
  if (!text.startsWith('/')) {
    const slash = text.indexOf('/');
    host = (slash === -1 ? text : text.slice(0, slash)).toLowerCase();
    rest = slash === -1 ? '/...' : text.slice(slash);
    if (!HOST.test(host)) return `'${text.slice(0, 80)}': '${host.slice(0, 80)}' is not a host name`;
  }
  let wildcard = false;
  if (rest === '/...') { wildcard = true; rest = '/'; }
  else if (rest.endsWith('/...')) { wildcard = true; rest = rest.slice(0, -4); }
  if (!PATH.test(rest) || rest.includes('...') || /(^|\/)\.\.?(\/|$)/.test(rest)) return `'${text.slice(0, 80)}' is not a route (/path, /path/..., or HOST/path/...)`;
  if (rest.length > 1 && rest.endsWith('/')) rest = rest.slice(0, -1);
  return { text, host, path: rest, wildcard };
}

export class RouteTable<T> {
  private readonly entries: Array<{ route: Route; target: T }> = [];

  add(route: Route, target: T): void {
    this.entries.push({ route, target });
    // Most specific first: a host before none, then longer paths, exact before wildcard.
    this.entries.sort((a, b) => Number(b.route.host !== null) - Number(a.route.host !== null)
      || b.route.path.length - a.route.path.length || Number(a.route.wildcard) - Number(b.route.wildcard));
  }

  /** The route for a request; `rawPath` is the URL path as sent (not decoded), `host` the Host header. */
  match(host: string | undefined, rawPath: string): RouteMatch<T> | null {
    // One trailing dot (`api.example.`, the fully qualified spelling) names the same host to DNS and to a
    // proxy in front; left on, it would miss that host's routes and fall through to a path-only route: another tenant.
    const hostName = (host ?? '').toLowerCase().replace(/\.(?=(?::\d+)?$)/, '');
    const hostNoPort = hostName.replace(/:\d+$/, '');
    for (const { route, target } of this.entries) {
      if (route.host !== null && route.host !== hostName && route.host !== hostNoPort) continue;
      if (route.path === '/') {
        if (route.wildcard) return { target, route, scriptName: '', rawPathInfo: rawPath };
        if (rawPath === '/') return { target, route, scriptName: '/', rawPathInfo: '' };
        continue;
      }
      if (rawPath === route.path) return { target, route, scriptName: rawPath, rawPathInfo: '' };
      if (route.wildcard && rawPath.startsWith(route.path + '/')) {
        return { target, route, scriptName: route.path, rawPathInfo: rawPath.slice(route.path.length) };
      }
    }
    return null;
  }

  get size(): number {
    return this.entries.length;
  }
}
