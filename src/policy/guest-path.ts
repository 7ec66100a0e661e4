// The one check of a mount's guest path, for the policy loader and the CLI's grant flags alike.
//
// A guest finds a mount by the spelling of its path: wasi-libc (and so C, C++ and Rust guests)
// strips a leading `/` or `./` and matches the rest by prefix, component by component, and
// resolves no `..` first. A mount at `/a/../y` was reached only by `open("/a/../y/f")`, never by
// `open("/y/f")`, and `/a//y` only by that double slash: mounts granted and, without a word,
// out of reach. Relative guest paths stay: `--dir data` and `--dir ..` give the guest the host's
// own spelling, as Wasmtime does, and leading `./` or `..` components are matched as written.
// (This is about messages and reach, not containment: a mount's name never widens what its
// descriptor resolves beneath.)

/** What is wrong with `guest` as a mount's guest path, or null. The mount kinds' own rules (a file mount's absolute path) are checked beside it. */
export function guestPathProblem(guest: string): string | null {
  const parts = guest.split('/');
  const absolute = parts[0] === '';
  let i = absolute ? 1 : 0;
  // A relative path may start by climbing (`../y`) or with `./`: the guest spells it the same way.
  if (!absolute) while (i < parts.length && (parts[i] === '.' || parts[i] === '..')) i++;
  for (; i < parts.length; i++) {
    const part = parts[i]!;
    // A trailing slash (`/y/`, and `/` itself) is matched as without it.
    if (part === '' && i < parts.length - 1) return `the guest path '${guest}' has an empty component (//)`;
    if (part === '.' || part === '..') {
      return `the guest path '${guest}' has a '${part}' component after its start (a guest reaches a mount by its spelling, which is not resolved); write the path meant`;
    }
  }
  return null;
}
