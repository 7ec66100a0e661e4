// A host function for bench/plugins.ts, loaded by the isolate that runs the guest.
export function f(_memory, x) {
  return x + 1;
}
