// Message-IDs the bot has already handled, per sender, so a re-delivered or replayed mail runs it
// once. Per sender: a Message-ID one person knows (e.g. the post-message id announced in a group)
// must not let them block another sender's mail by sending theirs first.
// Bounded: the oldest ids are forgotten beyond SEEN_MAX_IDS (Postfix re-delivery happens within
// days; the relay deletes mail after 20 days anyway). What was forgotten is not lost track of: the
// store keeps `completeSince`, the newest recorded-at time of any id it forgot. Every id recorded
// after it is still here, so inbound refuses mail signed before it (plus SEEN_CLOCK_SKEW_MS) — a
// captured old mail cannot be replayed once its id is gone.
// Kept in memory once read; on disk seen.json (a snapshot: { completeSince, ids: [key, ms] pairs
// oldest first }; an older host wrote the bare pairs array) plus seen.json.log, one appended and
// fdatasynced line per handled mail (storage/json-log.ts): a mail costs one small append, not a
// rewrite of up to SEEN_MAX_IDS ids. An id a log line pushes out is forgotten again, in the same
// order, when the files are read, so `completeSince` needs persisting only in the snapshot. This
// store must be the only writer of its files (the service's one account object per bot).
import { SEEN_MAX_IDS } from "../../core/limits.js";
import { JsonLog } from "../storage/json-log.js";
import { Serial } from "../policy/serial.js";
import type { Clock } from "../../core/clock.js";

type SeenPair = [key: string, at: number];
/** The snapshot; a bare array is the format of hosts before completeSince existed (nothing forgotten known). */
type SeenSnapshot = { completeSince: number | null; ids: SeenPair[] } | SeenPair[];

/** Options of SeenStore. */
export interface SeenStoreOptions {
  /** How many ids are kept (default SEEN_MAX_IDS; tests lower it to reach eviction quickly). */
  maxIds?: number;
}

/** The handled Message-IDs of one bot. */
export class SeenStore {
  private readonly log: JsonLog<SeenSnapshot, SeenPair>;
  private readonly serial = new Serial();
  private readonly maxIds: number;
  /** key → when it was recorded, oldest first (Map keeps insertion order). */
  private ids: Map<string, number> | undefined;
  /** The newest recorded-at time of any id forgotten, ms; undefined while none was. */
  private horizon: number | undefined;
  private snapshotExists = false;

  constructor(
    file: string,
    private readonly clock: Clock,
    options: SeenStoreOptions = {},
  ) {
    this.log = new JsonLog(file);
    this.maxIds = options.maxIds ?? SEEN_MAX_IDS;
  }

  private key(sender: string, messageId: string): string {
    return `${sender.toLowerCase()} ${messageId}`;
  }

  private async loaded(): Promise<Map<string, number>> {
    if (this.ids) return this.ids;
    const { snapshot, lines } = await this.log.read();
    this.snapshotExists = snapshot !== undefined;
    const pairs = Array.isArray(snapshot) ? snapshot : (snapshot?.ids ?? []);
    const since = Array.isArray(snapshot) ? null : (snapshot?.completeSince ?? null);
    this.horizon = typeof since === "number" && Number.isFinite(since) ? since : undefined;
    const ids = new Map<string, number>();
    for (const [key, at] of [...pairs, ...lines]) if (!ids.has(key)) ids.set(key, at);
    this.ids = ids;
    this.trim();
    return ids;
  }

  private trim(): void {
    const ids = this.ids!;
    for (const [key, at] of ids) {
      if (ids.size <= this.maxIds) break;
      ids.delete(key);
      this.horizon = Math.max(this.horizon ?? at, at);
    }
  }

  /** True when `sender`'s `messageId` was recorded before. */
  has(sender: string, messageId: string): Promise<boolean> {
    return this.serial.run(async () => (await this.loaded()).has(this.key(sender, messageId)));
  }

  /**
   * Since when this store remembers every id it recorded, ms since the epoch: the newest
   * recorded-at time of any id it forgot. Undefined while it has forgotten none (it is complete).
   */
  completeSince(): Promise<number | undefined> {
    return this.serial.run(async () => {
      await this.loaded();
      return this.horizon;
    });
  }

  /** Record `sender`'s `messageId` (a no-op when already recorded); durable when it resolves. */
  add(sender: string, messageId: string): Promise<void> {
    return this.serial.run(async () => {
      const ids = await this.loaded();
      const key = this.key(sender, messageId);
      if (ids.has(key)) return;
      const pair: SeenPair = [key, this.clock.now()];
      ids.set(key, pair[1]);
      this.trim();
      try {
        if (this.log.wantsSnapshot(this.snapshotExists)) {
          await this.log.snapshot({ completeSince: this.horizon ?? null, ids: [...ids] });
          this.snapshotExists = true;
        } else {
          await this.log.append(pair);
        }
      } catch (error) {
        // Not durable: not seen. What trim() forgot for it stays forgotten, and so the horizon
        // stays where it moved: it must cover every id no longer in memory.
        ids.delete(key);
        throw error;
      }
    });
  }
}
