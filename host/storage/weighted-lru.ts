// Least recently used first, bounded by count and by a total weight: what the host keeps between
// events (the runner's bundles and states: executor/bundle-cache.ts, state-cache.ts; parsed files:
// parsed-file-cache.ts; peers' keys: wire/pgp/peer-keys.ts). An entry heavier than the whole bound
// is never kept.
export class WeightedLru<V> {
  private readonly entries = new Map<string, { value: V; weight: number }>();
  private weight = 0;

  constructor(private readonly bounds: { maxEntries: number; maxWeight: number }) {}

  /**
   * The value under `key` when there is one and `accept` takes it (a token, a file's stamp, an age);
   * it is then the most recently used. Otherwise undefined, and the order stays as it was.
   */
  take(key: string, accept: (value: V) => boolean = () => true): V | undefined {
    const held = this.entries.get(key);
    if (held === undefined || !accept(held.value)) return undefined;
    this.entries.delete(key);
    this.entries.set(key, held);
    return held.value;
  }

  /** Keep `value` under `key` (replacing what was there), dropping the least recently used past the bounds. */
  put(key: string, value: V, weight: number): void {
    this.forget(key);
    if (weight > this.bounds.maxWeight) return;
    this.entries.set(key, { value, weight });
    this.weight += weight;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.bounds.maxEntries && this.weight <= this.bounds.maxWeight) break;
      this.forget(oldest);
    }
  }

  /** Drop what is kept under `key`. */
  forget(key: string): void {
    const held = this.entries.get(key);
    if (held === undefined) return;
    this.entries.delete(key);
    this.weight -= held.weight;
  }

  get size(): number {
    return this.entries.size;
  }
}
