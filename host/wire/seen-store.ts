// Message-IDs the bot has already handled, per sender, so a re-delivered or replayed mail runs it
// once. Per sender: a Message-ID one person knows (e.g. the post-message id announced in a group)
// must not let them block another sender's mail by sending theirs first.
// Bounded: the oldest ids are forgotten beyond SEEN_MAX_IDS (Postfix re-delivery happens within
// days; the relay deletes mail after 20 days anyway).
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";

/** How many Message-IDs a bot remembers. */
export const SEEN_MAX_IDS = 10_000;

/** The handled Message-IDs of one bot. */
export class SeenStore {
  constructor(
    private readonly file: string,
    private readonly now: () => number,
  ) {}

  private key(sender: string, messageId: string): string {
    return `${sender.toLowerCase()} ${messageId}`;
  }

  /** True when `sender`'s `messageId` was recorded before. */
  async has(sender: string, messageId: string): Promise<boolean> {
    const key = this.key(sender, messageId);
    return (await readJsonFile<Array<[string, number]>>(this.file, [])).some(([id]) => id === key);
  }

  /** Record `sender`'s `messageId` (a no-op when already recorded). */
  async add(sender: string, messageId: string): Promise<void> {
    const key = this.key(sender, messageId);
    const seen = await readJsonFile<Array<[string, number]>>(this.file, []);
    if (seen.some(([id]) => id === key)) return;
    seen.push([key, this.now()]);
    await writeJsonFile(this.file, seen.slice(-SEEN_MAX_IDS));
  }

}
