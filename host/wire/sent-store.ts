// The mails a bot sent recently, so it can delete (Chat-Delete) or resend them: only its own
// messages (PROTOCOL §6: core honours a deletion only from the original sender, and a resend
// must be the same bytes with the same Message-ID). An index <account>/sent.json plus one raw
// file per mail under <account>/sent/ (folders 0700, files 0600). Bounded by count, age and bytes
// (host/limits.ts); the oldest mails are forgotten first.
import { createHash } from "node:crypto";
import { readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { SENT_MAX_AGE_MS, SENT_MAX_BYTES, SENT_MAX_MESSAGES } from "../limits.js";
import { readJsonFile, writeJsonFile, writePrivateFile } from "../storage/json-file.js";

/** What the store keeps about one sent mail (its raw bytes are in a file beside the index). */
export interface SentEntry {
  /** With angle brackets. */
  messageId: string;
  /** The chat it went to: a peer's address or "group:<id>". */
  chatId: string;
  /** Envelope sender and recipients as submitted. */
  from: string;
  recipients: string[];
  /** Milliseconds since the epoch when SMTP accepted it. */
  sentAt: number;
  /** Size of the raw mail, bytes. */
  bytes: number;
}

/** How much the store keeps; the defaults come from host/limits.ts. */
export interface SentBounds {
  maxMessages: number;
  maxAgeMs: number;
  maxBytes: number;
}

const DEFAULT_BOUNDS: Readonly<SentBounds> = Object.freeze({ maxMessages: SENT_MAX_MESSAGES, maxAgeMs: SENT_MAX_AGE_MS, maxBytes: SENT_MAX_BYTES });

/** The recently sent mails of one bot. */
export class SentStore {
  private readonly index: string;
  private readonly rawDir: string;

  constructor(
    dir: string,
    private readonly now: () => number,
    private readonly bounds: Readonly<SentBounds> = DEFAULT_BOUNDS,
  ) {
    this.index = join(dir, "sent.json");
    this.rawDir = join(dir, "sent");
  }

  // A file name from the id: Message-IDs may hold "/" and other characters a path must not.
  private rawFile(messageId: string): string {
    return join(this.rawDir, `${createHash("sha256").update(messageId).digest("hex")}.eml`);
  }

  private fresh(entry: SentEntry): boolean {
    return this.now() - entry.sentAt <= this.bounds.maxAgeMs;
  }

  /** Remember a mail SMTP accepted; forgets the oldest ones beyond the bounds. */
  async record(mail: { messageId: string; chatId: string; from: string; recipients: readonly string[]; raw: string }): Promise<void> {
    const bytes = Buffer.byteLength(mail.raw, "utf8");
    await writePrivateFile(this.rawFile(mail.messageId), mail.raw);
    const all = (await readJsonFile<SentEntry[]>(this.index, [])).filter((e) => e.messageId !== mail.messageId);
    all.push({ messageId: mail.messageId, chatId: mail.chatId, from: mail.from, recipients: [...mail.recipients], sentAt: this.now(), bytes });
    let total = all.reduce((sum, e) => sum + e.bytes, 0);
    const forgotten: SentEntry[] = [];
    while (all.length > 0 && (all.length > this.bounds.maxMessages || total > this.bounds.maxBytes || !this.fresh(all[0]!))) {
      const oldest = all.shift()!;
      total -= oldest.bytes;
      forgotten.push(oldest);
    }
    await writeJsonFile(this.index, all);
    // After the index no longer names them: a crash in between leaves orphan files, never a dangling entry.
    await Promise.all(forgotten.map((e) => unlink(this.rawFile(e.messageId)).catch(() => undefined)));
  }

  /** The entry and raw mail of `messageId` when the bot sent it within the bounds; else undefined. */
  async get(messageId: string): Promise<{ entry: SentEntry; raw: string } | undefined> {
    const entry = (await readJsonFile<SentEntry[]>(this.index, [])).find((e) => e.messageId === messageId);
    if (!entry || !this.fresh(entry)) return undefined;
    try {
      return { entry, raw: await readFile(this.rawFile(messageId), "utf8") };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }
}
