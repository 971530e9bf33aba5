// Mail that reached a bot's mailbox instead of the bot (issue 13, part 3): Postfix routes a bot's
// address to the host only once its queue manager has read the routes table the host keeps, so a
// mail sent right after an install or a resume can still be delivered to the account's INBOX. The
// host looks into the INBOX a few times after the change (INBOX_CATCH_UP_DELAYS_MS) and moves what
// arrived there since into its spool, where it runs like any mail; then deletes it from the INBOX
// (spooled first: a crash in between runs it, it never loses it). Mail from before the change —
// the account's life before it became a bot, or while its author had it paused — stays where it is.
import type { RestAnswer } from "./pipeline-rest.js";
import { describeError } from "../../core/errors.js";
import { INBOX_CATCH_UP_DELAYS_MS, INBOX_CATCH_UP_MAX, MAIL_MAX_BYTES } from "../../core/limits.js";
import type { FolderMailbox, FolderMessage } from "../deploy/imap-mailbox.js";
import { Serial } from "../policy/serial.js";
import type { HostLog } from "./host-event.js";

export interface InboxCatchUpDeps {
  log: HostLog;
  /** Log in as the bot and open its INBOX (null when it is no longer installed, or paused: its mail is not its to run then). */
  openInbox: (addr: string) => Promise<FolderMailbox | null>;
  /** Put one mail for `addr` into the spool (and wake the service). */
  spool: (addr: string, raw: Uint8Array) => Promise<void>;
  /** Messages that stay in the INBOX whenever they came (the host's notices to the author); default none. */
  keep?: (message: FolderMessage) => boolean;
}

/** Schedules and runs the catch-ups of bots that just started getting their mail. */
export class InboxCatchUp {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** One look at a time: two looks at once (two changes' delays landing together) would spool a mail twice. */
  private readonly looks = new Serial();
  /** The latest change of each bot scheduled (ms). */
  private readonly since = new Map<string, number>();
  private stopped = false;
  /** Looks started and not finished. */
  private looking = 0;

  constructor(private readonly deps: InboxCatchUpDeps) {}

  /** `addr` gets its mail from `since` (ms) on: look into its INBOX at each delay. */
  schedule(addr: string, since: number): void {
    if (this.stopped) return;
    // Every look, also one an earlier change scheduled, takes only what came after the latest change:
    // mail from a pause in between stays in the mailbox.
    this.since.set(addr, Math.max(since, this.since.get(addr) ?? 0));
    for (const delay of INBOX_CATCH_UP_DELAYS_MS) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.looking += 1;
        this.looks
          .run(() => this.catchUp(addr, this.since.get(addr) ?? since))
          .catch((error: unknown) => this.deps.log({ event: "inbox.catch-up-error", bot: addr, error: describeError(error) }))
          .finally(() => (this.looking -= 1));
      }, delay);
      timer.unref();
      this.timers.add(timer);
    }
  }

  /** Spool what reached `addr`'s INBOX since `since` (INTERNALDATE has seconds: from the start of that second). */
  async catchUp(addr: string, since: number): Promise<number> {
    const inbox = await this.deps.openInbox(addr);
    if (!inbox) return 0;
    let moved = 0;
    try {
      const from = Math.floor(since / 1000) * 1000;
      const late = (await inbox.list()).filter((m) => m.receivedAt !== undefined && m.receivedAt >= from && !this.deps.keep?.(m));
      // Too large ones stay in the INBOX (and do not take the place of others in this look).
      for (const message of late.filter((m) => (m.size ?? 0) > MAIL_MAX_BYTES))
        this.deps.log({ event: "inbox.catch-up-skipped", bot: addr, uid: message.uid, reason: `${message.size} bytes, over ${MAIL_MAX_BYTES}` });
      for (const message of late.filter((m) => (m.size ?? 0) <= MAIL_MAX_BYTES).slice(0, INBOX_CATCH_UP_MAX)) {
        if (this.stopped) break;
        await this.deps.spool(addr, await inbox.download(message.uid));
        await inbox.remove([message.uid]);
        moved += 1;
      }
    } finally {
      await inbox.close();
    }
    if (moved > 0) this.deps.log({ event: "inbox.caught-up", bot: addr, mails: moved });
    return moved;
  }

  /** For the pipeline's rest (pipeline-rest.ts): busy while a catch-up is scheduled or running. */
  restAnswer(): RestAnswer {
    return this.timers.size > 0 || this.looking > 0 ? "busy" : Number.POSITIVE_INFINITY;
  }

  /** Forget the catch-ups not run yet. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
