// Message-IDs the bot has already handled, so a re-delivered or replayed mail runs it once.
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

  /** Record `messageId`; false when it was seen before. */
  async firstTime(messageId: string): Promise<boolean> {
    const seen = await readJsonFile<Array<[string, number]>>(this.file, []);
    if (seen.some(([id]) => id === messageId)) return false;
    seen.push([messageId, this.now()]);
    await writeJsonFile(this.file, seen.slice(-SEEN_MAX_IDS));
    return true;
  }
}
