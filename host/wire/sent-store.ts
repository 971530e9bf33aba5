// The mails a bot sent recently, so it can delete (Chat-Delete) or resend them: only its own
// messages (PROTOCOL §6: core honours a deletion only from the original sender, and a resend
// must be the same bytes with the same Message-ID). An index <account>/sent.json plus one raw
// file per mail under <account>/sent/ (folders 0700, files 0600). Bounded by count, age and bytes
// (core/limits.ts); the oldest mails are forgotten first. The index is read once and kept in
// memory; on disk it is sent.json (a snapshot) plus sent.json.log, one appended line per mail
// (storage/json-log.ts), so a mail does not rewrite an index of up to SENT_MAX_MESSAGES entries.
// This store must be the only writer of its files (the service's one account object per bot).
// Nothing here is fsynced: a record matters only for a later delete or resend, never for sending a
// reply once, so a power cut may lose the last records (those mails then answer E_NOT_SENT). A
// raw file cut short by one is never resent: `get` checks its size against the index.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { SENT_MAX_AGE_MS, SENT_MAX_BYTES, SENT_MAX_MESSAGES } from "../../core/limits.js";
import { Serial } from "../policy/serial.js";
import { renameUnsynced } from "../spool/durable-fs.js";
import { mkdir, readFile, unlink, writeAndSync } from "../spool/file-io.js";
import { JsonLog } from "../storage/json-log.js";
import type { Clock } from "../../core/clock.js";

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

/** How much the store keeps; the defaults come from core/limits.ts. */
export interface SentBounds {
  maxMessages: number;
  maxAgeMs: number;
  maxBytes: number;
}

const DEFAULT_BOUNDS: Readonly<SentBounds> = Object.freeze({ maxMessages: SENT_MAX_MESSAGES, maxAgeMs: SENT_MAX_AGE_MS, maxBytes: SENT_MAX_BYTES });

/** The recently sent mails of one bot. */
export class SentStore {
  private readonly index: JsonLog<SentEntry[], SentEntry>;
  private readonly rawDir: string;
  private readonly serial = new Serial();
  /** The index, oldest first, once read. */
  private entries: SentEntry[] | undefined;
  private snapshotExists = false;
  private rawDirReady = false;

  constructor(
    dir: string,
    private readonly clock: Clock,
    private readonly bounds: Readonly<SentBounds> = DEFAULT_BOUNDS,
  ) {
    this.index = new JsonLog(join(dir, "sent.json"), { durable: false });
    this.rawDir = join(dir, "sent");
  }

  // A file name from the id: Message-IDs may hold "/" and other characters a path must not.
  private rawFile(messageId: string): string {
    return join(this.rawDir, `${createHash("sha256").update(messageId).digest("hex")}.eml`);
  }

  private fresh(entry: SentEntry): boolean {
    return this.clock.now() - entry.sentAt <= this.bounds.maxAgeMs;
  }

  /** The index (snapshot, then the log's lines; a later line for an id replaces an earlier one), within the bounds. */
  private async loaded(): Promise<SentEntry[]> {
    if (this.entries) return this.entries;
    const { snapshot, lines } = await this.index.read();
    this.snapshotExists = snapshot !== undefined;
    const byId = new Map<string, SentEntry>();
    for (const entry of [...(snapshot ?? []), ...lines]) {
      byId.delete(entry.messageId);
      byId.set(entry.messageId, entry);
    }
    this.entries = [...byId.values()];
    this.forgetBeyondBounds(this.entries);
    return this.entries;
  }

  /** Drop the oldest entries of `all` beyond the bounds; returns them. */
  private forgetBeyondBounds(all: SentEntry[]): SentEntry[] {
    let total = all.reduce((sum, e) => sum + e.bytes, 0);
    const forgotten: SentEntry[] = [];
    while (all.length > 0 && (all.length > this.bounds.maxMessages || total > this.bounds.maxBytes || !this.fresh(all[0]!))) {
      const oldest = all.shift()!;
      total -= oldest.bytes;
      forgotten.push(oldest);
    }
    return forgotten;
  }

  /** The raw mail in its own file: temp, rename (folder 0700, file 0600); not fsynced (see the top). */
  private async writeRaw(messageId: string, raw: string): Promise<void> {
    if (!this.rawDirReady) {
      await mkdir(this.rawDir, { recursive: true, mode: 0o700 });
      this.rawDirReady = true;
    }
    const file = this.rawFile(messageId);
    const temp = `${file}.${process.pid}.tmp`;
    await writeAndSync(temp, raw, "w", 0o600, "none");
    await renameUnsynced(temp, file);
  }

  /** Remember a mail SMTP accepted; forgets the oldest ones beyond the bounds. */
  record(mail: { messageId: string; chatId: string; from: string; recipients: readonly string[]; raw: string }): Promise<void> {
    return this.serial.run(async () => {
      const bytes = Buffer.byteLength(mail.raw, "utf8");
      await this.writeRaw(mail.messageId, mail.raw);
      const entry: SentEntry = {
        messageId: mail.messageId,
        chatId: mail.chatId,
        from: mail.from,
        recipients: [...mail.recipients],
        sentAt: this.clock.now(),
        bytes,
      };
      const all = (await this.loaded()).filter((e) => e.messageId !== mail.messageId);
      all.push(entry);
      const forgotten = this.forgetBeyondBounds(all);
      if (this.index.wantsSnapshot(this.snapshotExists)) {
        await this.index.snapshot(all);
        this.snapshotExists = true;
      } else {
        await this.index.append(entry);
      }
      this.entries = all;
      // After the index no longer names them: a crash in between leaves orphan files, never a dangling entry.
      // (Until the next snapshot the log may still name them; get() treats a missing file as not sent.)
      await Promise.all(forgotten.map((e) => unlink(this.rawFile(e.messageId)).catch(() => undefined)));
    });
  }

  /** The entry and raw mail of `messageId` when the bot sent it within the bounds; else undefined. */
  async get(messageId: string): Promise<{ entry: SentEntry; raw: string } | undefined> {
    const entry = await this.serial.run(async () => (await this.loaded()).find((e) => e.messageId === messageId));
    if (!entry || !this.fresh(entry)) return undefined;
    try {
      const raw = await readFile(this.rawFile(messageId), "utf8");
      return Buffer.byteLength(raw, "utf8") === entry.bytes ? { entry, raw } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }
}
