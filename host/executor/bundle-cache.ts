// The bundles a runner holds between events (issue 15, CPU per event): the host sends a bot's code
// with its first event on a runner and only its id after that. Both ends keep one of these, and
// apply the same calls in the same order — the host when it writes a "run" frame, the runner when
// it reads one — so they agree on what is held without asking; a runner that lacks a bundle anyway
// says so ("bundle-missing") and the host sends it whole, once per event.
import { RUNNER_BUNDLE_CACHE } from "../../core/limits.js";
import type { RunRequest } from "./run-types.js";

export type Bundle = RunRequest["bundle"];

/** Least recently used bundles by id, bounded by count and by characters of code. */
export class BundleCache {
  private readonly entries = new Map<string, Bundle>();
  private chars = 0;

  constructor(private readonly bounds: { maxEntries: number; maxChars: number } = RUNNER_BUNDLE_CACHE) {}

  /** The bundle held as `id`, now the most recently used; undefined when none is. */
  take(id: string): Bundle | undefined {
    const bundle = this.entries.get(id);
    if (bundle === undefined) return undefined;
    this.entries.delete(id);
    this.entries.set(id, bundle);
    return bundle;
  }

  /** True when exactly `bundle` (same id, file name and code) is held; it becomes the most recently used. */
  holds(bundle: Bundle): boolean {
    const held = this.take(bundle.id);
    // Same string object in the host's steady state: V8 compares the pointers first.
    return held !== undefined && held.code === bundle.code && held.filename === bundle.filename;
  }

  /** Keep `bundle` (replacing one of its id), dropping the least recently used past the bounds. */
  put(bundle: Bundle): void {
    this.drop(bundle.id);
    if (bundle.code.length > this.bounds.maxChars) return;
    this.entries.set(bundle.id, bundle);
    this.chars += bundle.code.length;
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.bounds.maxEntries && this.chars <= this.bounds.maxChars) break;
      this.drop(id);
    }
  }

  /** Bundles held now (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  private drop(id: string): void {
    const held = this.entries.get(id);
    if (held === undefined) return;
    this.entries.delete(id);
    this.chars -= held.code.length;
  }
}
