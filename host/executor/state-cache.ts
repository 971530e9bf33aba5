// The bots' states a runner holds between events (issue 15, CPU per event): the host sends a bot's
// state with an event only when the runner does not hold it already, named by a token that always
// means the same state (service/bot-state-file.ts makes them; a saved state gets a new one). A ~900 KiB
// state sent with every event cost the runner ~15 ms and the host ~5 ms of CPU per event, whether
// the bot read it or not. Like bundle-cache.ts, both ends keep one of these and apply the same calls
// in the same order — the host when it writes a "run" frame, the sandbox worker when it gets one —
// so they agree on what is held without asking; a worker that lacks a state anyway (it was
// replaced) says so ("state-missing") and the host sends it whole, once per event.
import { RUNNER_STATE_CACHE } from "../../core/limits.js";
import { WeightedLru } from "../storage/weighted-lru.js";

/** One state per bot, least recently used first, bounded by bots and by characters. */
export class StateCache<T> {
  private readonly entries: WeightedLru<{ token: string; value: T }>;

  constructor(bounds: { maxBots: number; maxChars: number } = RUNNER_STATE_CACHE) {
    this.entries = new WeightedLru({ maxEntries: bounds.maxBots, maxWeight: bounds.maxChars });
  }

  /** The value held for `bot` under exactly `token`, now the most recently used; undefined when none is. */
  take(bot: string, token: string): T | undefined {
    return this.entries.take(bot, (held) => held.token === token)?.value;
  }

  /** True when `bot`'s state `token` is held (it becomes the most recently used). */
  holds(bot: string, token: string): boolean {
    return this.take(bot, token) !== undefined;
  }

  /** Keep `value` as `bot`'s state `token` (replacing its earlier one), dropping the least recently used past the bounds. */
  put(bot: string, token: string, chars: number, value: T): void {
    this.entries.put(bot, { token, value }, chars);
  }

  /** States held now (tests). */
  get size(): number {
    return this.entries.size;
  }
}
