// Halves of split Delta Chat messages waiting for their other half (PROTOCOL §2). The sending core
// splits a message whose attachment is over 140000 bytes into a pre-message (text, Chat-Post-
// Message-ID: <post id>) and a post-message (Chat-Is-Post-Message: 1, the file, Message-ID = post
// id); they may arrive in either order. The first half to arrive is held here until the second
// one comes, then inbound runs the bot once on both.
//
// What is held is the mail exactly as it arrived — still encrypted — so no plaintext is written to
// disk and the held half is decrypted and verified again when it is used. One index file
// (index.json) plus one file per held mail, under <account dir>/pending/ (folders 0700, files
// 0600). Bounded by count, by bytes and by age (PENDING_MAX_* in limits.ts): the oldest halves are
// forgotten first.
import { createHash } from "node:crypto";
import { readFile, unlink } from "../spool/file-io.js";
import { join } from "node:path";
import { PENDING_MAX_AGE_MS, PENDING_MAX_BYTES, PENDING_MAX_ENTRIES } from "../../core/limits.js";
import { readJsonFile, writeJsonFile, writePrivateFile } from "../storage/json-file.js";
import type { Clock } from "../../core/clock.js";

/** Which half of a split message. */
export type Half = "pre" | "post";

/** One held half. */
export interface PendingHalf {
  /** Message-ID of the post-message, with angle brackets: what joins the two halves. */
  postId: string;
  half: Half;
  /** Lowercased sender address (outer From = inner From). */
  sender: string;
  /** Primary-key fingerprint that validly signed this half. */
  signer: string;
  /** Milliseconds since the epoch when it was held. */
  heldAt: number;
  /** Size of the held raw mail. */
  bytes: number;
}

/** The halves one bot holds. Not safe for concurrent use: a bot's mail is handled one at a time. */
export class PendingStore {
  private readonly index: string;

  constructor(
    private readonly dir: string,
    private readonly clock: Clock,
  ) {
    this.index = join(dir, "index.json");
  }

  // One file per (sender, post id, half): a half sent by someone else can never replace or
  // complete this sender's half.
  private fileFor(entry: Pick<PendingHalf, "sender" | "postId" | "half">): string {
    const name = createHash("sha256").update(`${entry.sender}\n${entry.postId}\n${entry.half}`).digest("hex");
    return join(this.dir, `${name}.eml`);
  }

  private static same(a: Pick<PendingHalf, "sender" | "postId" | "half">, b: Pick<PendingHalf, "sender" | "postId" | "half">): boolean {
    return a.sender === b.sender && a.postId === b.postId && a.half === b.half;
  }

  /** The held halves that have not expired, oldest first. */
  private async live(): Promise<{ entries: PendingHalf[]; expired: PendingHalf[] }> {
    const all = await readJsonFile<PendingHalf[]>(this.index, []);
    const cutoff = this.clock.now() - PENDING_MAX_AGE_MS;
    return { entries: all.filter((e) => e.heldAt >= cutoff), expired: all.filter((e) => e.heldAt < cutoff) };
  }

  private async forget(entries: PendingHalf[]): Promise<void> {
    for (const entry of entries) await unlink(this.fileFor(entry)).catch(() => {});
  }

  /** The held half of `sender`'s message `postId`, if any (it stays held). */
  async find(sender: string, postId: string, half: Half): Promise<PendingHalf | undefined> {
    const { entries } = await this.live();
    return entries.find((e) => PendingStore.same(e, { sender, postId, half }));
  }

  /**
   * Hold `raw` as `half` of `sender`'s message `postId`; replaces an earlier copy of the same half.
   * Forgets expired halves, then the oldest ones until the bounds hold. False when `raw` alone is
   * over PENDING_MAX_BYTES (then nothing is held).
   */
  async hold(half: Omit<PendingHalf, "heldAt" | "bytes">, raw: Uint8Array): Promise<boolean> {
    if (raw.byteLength > PENDING_MAX_BYTES) return false;
    const entry: PendingHalf = { ...half, heldAt: this.clock.now(), bytes: raw.byteLength };
    const { entries, expired } = await this.live();
    const kept = entries.filter((e) => !PendingStore.same(e, entry));
    const evicted = [...expired];
    const total = () => kept.reduce((sum, e) => sum + e.bytes, entry.bytes);
    while (kept.length > 0 && (kept.length + 1 > PENDING_MAX_ENTRIES || total() > PENDING_MAX_BYTES)) evicted.push(kept.shift()!);
    // The mail first, then the index: a crash in between leaves an orphan file, never an index
    // entry without its mail.
    await writePrivateFile(this.fileFor(entry), raw);
    await writeJsonFile(this.index, [...kept, entry]);
    await this.forget(evicted.filter((e) => !PendingStore.same(e, entry)));
    return true;
  }

  /** Remove and return `sender`'s held `half` of `postId` with its raw mail. */
  async take(sender: string, postId: string, half: Half): Promise<{ entry: PendingHalf; raw: Uint8Array } | undefined> {
    const { entries, expired } = await this.live();
    const entry = entries.find((e) => PendingStore.same(e, { sender, postId, half }));
    if (!entry) return undefined;
    let raw: Uint8Array;
    try {
      raw = new Uint8Array(await readFile(this.fileFor(entry)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      await writeJsonFile(
        this.index,
        entries.filter((e) => e !== entry),
      );
      return undefined;
    }
    await writeJsonFile(
      this.index,
      entries.filter((e) => e !== entry),
    );
    await this.forget([entry, ...expired]);
    return { entry, raw };
  }

  /** Every held half that has not expired, oldest first (for status and tests). */
  async list(): Promise<PendingHalf[]> {
    return (await this.live()).entries;
  }
}
