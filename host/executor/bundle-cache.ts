// The bundles a runner holds between events (issue 15, CPU per event): the host sends a bot's code
// with its first event on a runner and only its id after that. Both ends keep one of these, and
// apply the same calls in the same order — the host when it writes a "run" frame, the runner when
// it reads one — so they agree on what is held without asking; a runner that lacks a bundle anyway
// says so ("bundle-missing") and the host sends it whole, once per event.
import { RUNNER_BUNDLE_CACHE } from "../../core/limits.js";
import type { RunRequest } from "./run-types.js";
import { WeightedLru } from "../storage/weighted-lru.js";

export type Bundle = RunRequest["bundle"];

/** Least recently used bundles by id, bounded by count and by characters of code. */
export class BundleCache {
  private readonly entries: WeightedLru<Bundle>;

  constructor(bounds: { maxEntries: number; maxChars: number } = RUNNER_BUNDLE_CACHE) {
    this.entries = new WeightedLru({ maxEntries: bounds.maxEntries, maxWeight: bounds.maxChars });
  }

  /** The bundle held as `id`, now the most recently used; undefined when none is. */
  take(id: string): Bundle | undefined {
    return this.entries.take(id);
  }

  /** True when exactly `bundle` (same id, file name and code) is held; it becomes the most recently used. */
  holds(bundle: Bundle): boolean {
    const held = this.take(bundle.id);
    // Same string object in the host's steady state: V8 compares the pointers first.
    return held !== undefined && held.code === bundle.code && held.filename === bundle.filename;
  }

  /** Keep `bundle` (replacing one of its id), dropping the least recently used past the bounds. */
  put(bundle: Bundle): void {
    this.entries.put(bundle.id, bundle, bundle.code.length);
  }

  /** Bundles held now (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }
}
