// Path handling for the CLI without node:path (which costs a share of a short
// run's startup): resolving a command-line path against the working directory
// is all the CLI needs, and the kernel resolves `.` and `..` itself.

export function resolveFrom(cwd: string, path: string): string {
  return path.startsWith('/') ? path : `${cwd.endsWith('/') ? cwd : cwd + '/'}${path}`;
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? (slash === 0 ? '/' : '.') : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
