// Message-IDs the bot has already handled, per sender, so a re-delivered or replayed mail runs it
// once. Per sender: a Message-ID one person knows (e.g. the post-message id announced in a group)
// must not let them block another sender's mail by sending theirs first.
// Bounded: the oldest ids are forgotten beyond SEEN_MAX_IDS (Postfix re-delivery happens within
// days; the relay deletes mail after 20 days anyway).
// Kept in memory once read; on disk seen.json (a snapshot, [key, ms] pairs oldest first) plus
// seen.json.log, one appended and fdatasynced line per handled mail (storage/json-log.ts): a mail
// costs one small append, not a rewrite of up to SEEN_MAX_IDS ids. This store must be the only
// writer of its files (the service's one account object per bot).
import { JsonLog } from "../storage/json-log.js";
import { Serial } from "../policy/serial.js";

/** How many Message-IDs a bot remembers. */
export const SEEN_MAX_IDS = 10_000;

type SeenPair = [key: string, at: number];

/** The handled Message-IDs of one bot. */
export class SeenStore {
  private readonly log: JsonLog<SeenPair[], SeenPair>;
  private readonly serial = new Serial();
  /** key → when it was recorded, oldest first (Map keeps insertion order). */
  private ids: Map<string, number> | undefined;
  private snapshotExists = false;

  constructor(
    file: string,
    private readonly now: () => number,
  ) {
    this.log = new JsonLog(file);
  }

  private key(sender: string, messageId: string): string {
    return `${sender.toLowerCase()} ${messageId}`;
  }

  private async loaded(): Promise<Map<string, number>> {
    if (this.ids) return this.ids;
    const { snapshot, lines } = await this.log.read();
    this.snapshotExists = snapshot !== undefined;
    const ids = new Map<string, number>();
    for (const [key, at] of [...(snapshot ?? []), ...lines]) if (!ids.has(key)) ids.set(key, at);
    this.ids = ids;
    this.trim();
    return ids;
  }

  private trim(): void {
    const ids = this.ids!;
    for (const key of ids.keys()) {
      if (ids.size <= SEEN_MAX_IDS) break;
      ids.delete(key);
    }
  }

  /** True when `sender`'s `messageId` was recorded before. */
  has(sender: string, messageId: string): Promise<boolean> {
    return this.serial.run(async () => (await this.loaded()).has(this.key(sender, messageId)));
  }

  /** Record `sender`'s `messageId` (a no-op when already recorded); durable when it resolves. */
  add(sender: string, messageId: string): Promise<void> {
    return this.serial.run(async () => {
      const ids = await this.loaded();
      const key = this.key(sender, messageId);
      if (ids.has(key)) return;
      const pair: SeenPair = [key, this.now()];
      ids.set(key, pair[1]);
      this.trim();
      try {
        if (this.log.wantsSnapshot(this.snapshotExists)) {
          await this.log.snapshot([...ids]);
          this.snapshotExists = true;
        } else {
          await this.log.append(pair);
        }
      } catch (error) {
        ids.delete(key); // not durable: not seen
        throw error;
      }
    });
  }
}
