// A least-recently-used map of values being built or built, bounded by what
// they cost (bytes), not by how many there are: one 31 MB module and a
// thousand 2 KB ones are different loads. A value in the making counts from
// the start (its cost is estimated until it is known), and a failed build is
// forgotten, so the next caller tries again.

export class ModuleCache<Value> {
  private readonly entries = new Map<string, { value: Promise<Value>; cost: number }>();
  private total = 0;

  /**
   * `maxBytes`: the bound on the sum of the entries' costs. An entry costing
   * more than the bound on its own is built and handed out but not kept.
   */
  constructor(private readonly maxBytes: number, private readonly costOf: (value: Value) => number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The sum of the costs of the entries kept. */
  get bytes(): number {
    return this.total;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * Returns the value for `key`, or builds it. `estimate` is what the value
   * will cost, counted while it is built (two builds of large modules at once
   * count both).
   */
  get(key: string, build: () => Promise<Value>, estimate = 0): Promise<Value> {
    const hit = this.entries.get(key);
    if (hit) {
      // Most recently used goes last: eviction takes from the front.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const entry = { value: build(), cost: estimate };
    this.entries.set(key, entry);
    this.total += entry.cost;
    // A value that will not be kept anyway makes no room for itself.
    if (entry.cost <= this.maxBytes) this.evict(key);
    entry.value.then((value) => {
      if (this.entries.get(key) !== entry) return;
      const cost = this.costOf(value);
      this.total += cost - entry.cost;
      entry.cost = cost;
      // Too large to keep at all: the others stay.
      if (cost > this.maxBytes) this.drop(key);
      else this.evict(null);
    }, () => {
      if (this.entries.get(key) === entry) this.drop(key);
    });
    return entry.value;
  }

  /** Forgets every entry (values already handed out stay usable). */
  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.cost;
  }

  /** Least recently used first, until the total fits; `keep` (being built) stays. */
  private evict(keep: string | null): void {
    for (const key of [...this.entries.keys()]) {
      if (this.total <= this.maxBytes) return;
      if (key !== keep) this.drop(key);
    }
  }
}
