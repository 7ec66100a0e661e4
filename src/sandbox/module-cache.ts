// Compiled modules by content digest, so a module is compiled once however many
// runs and workers use it (a WebAssembly.Module posts to a worker without
// recompiling). Bounded by entry count; least recently used goes first.

import { createHash } from 'node:crypto';

export function sha256Digest(bytes: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

export class ModuleCache<Value> {
  private readonly entries = new Map<string, Promise<Value>>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Returns the cached value for `key`, or builds, caches and returns it. A failed build is not cached. */
  get(key: string, build: () => Promise<Value>): Promise<Value> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const made = build();
    this.entries.set(key, made);
    made.catch(() => {
      if (this.entries.get(key) === made) this.entries.delete(key);
    });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return made;
  }
}
