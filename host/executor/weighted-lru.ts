// Least recently used first, bounded by count and by a total weight (characters, for what runners
// keep between events: bundle-cache.ts, state-cache.ts). An entry heavier than the whole bound is
// never kept.
export class WeightedLru<V> {
  private readonly entries = new Map<string, { value: V; weight: number }>();
  private weight = 0;

  constructor(private readonly bounds: { maxEntries: number; maxWeight: number }) {}

  /** The value under `key`, now the most recently used; undefined when none is. */
  take(key: string): V | undefined {
    const held = this.entries.get(key);
    if (held === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, held);
    return held.value;
  }

  /** Keep `value` under `key` (replacing what was there), dropping the least recently used past the bounds. */
  put(key: string, value: V, weight: number): void {
    this.drop(key);
    if (weight > this.bounds.maxWeight) return;
    this.entries.set(key, { value, weight });
    this.weight += weight;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.bounds.maxEntries && this.weight <= this.bounds.maxWeight) break;
      this.drop(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(key: string): void {
    const held = this.entries.get(key);
    if (held === undefined) return;
    this.entries.delete(key);
    this.weight -= held.weight;
  }
}
