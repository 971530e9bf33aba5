// A bot that keeps failing (issue 13, part 5): its author hears of it in their chat app, with the
// last error, at most once a day. Fed from the host's log (host-serve.ts taps it), so it sees each
// run's outcome exactly as the operator's log does: FAILING_RUNS_IN_A_ROW failed runs (a thrown
// error or a limit hit; a run that went well resets the count) and no notice in the last
// FAILING_NOTICE_GAP_MS. When it last told is kept in bots/ADDR/failing.json, so a restart does not
// tell again the same day.
import { join } from "node:path";
import type { Clock } from "../../core/clock.js";
import { FAILING_NOTICE_GAP_MS, FAILING_RUNS_IN_A_ROW } from "../../core/limits.js";
import { Serial } from "../policy/serial.js";
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";
import type { HostEvent } from "./host-event.js";
import type { NoticeKind } from "./author-notices.js";
import { hostPaths, isInstalledBot } from "./paths.js";

export interface FailingBotsDeps {
  dataDir: string;
  clock: Clock;
  notify: (account: string, kind: NoticeKind, text: string) => Promise<void>;
}

/** Counts each bot's failed runs in a row and tells its author when it keeps failing. */
export class FailingBots {
  private readonly streaks = new Map<string, number>();
  private readonly serial = new Serial();
  /** Notices in flight (so `settled()` can wait for them in tests and at stop). */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: FailingBotsDeps) {}

  /** Look at one log event; never throws. */
  observe(event: HostEvent): void {
    if (event.event !== "bot.event" && event.event !== "bot.tick") return;
    const bot = event.bot;
    if (event.status === "ok") {
      this.streaks.delete(bot);
      return;
    }
    const streak = (this.streaks.get(bot) ?? 0) + 1;
    this.streaks.set(bot, streak);
    if (streak < FAILING_RUNS_IN_A_ROW) return;
    const error = [event.error, event.message].filter(Boolean).join(": ") || event.status;
    // One at a time: failures come faster than a notice goes out, and each must see the last one's record.
    const told = this.serial.run(() => this.tell(bot, streak, error)).catch(() => undefined);
    this.pending.add(told);
    void told.finally(() => this.pending.delete(told));
  }

  private async tell(bot: string, streak: number, error: string): Promise<void> {
    const { dataDir, clock, notify } = this.deps;
    if (!isInstalledBot(dataDir, bot)) return;
    const file = join(hostPaths(dataDir).bot(bot).dir, "failing.json");
    const last = await readJsonFile<{ lastNoticeAt?: number }>(file, {});
    const now = clock.now();
    if (last.lastNoticeAt !== undefined && now - last.lastNoticeAt < FAILING_NOTICE_GAP_MS) return;
    await writeJsonFile(file, { lastNoticeAt: now });
    await notify(
      bot,
      "failing",
      `${bot} keeps failing: its last ${streak} runs failed. The last error: ${error.slice(0, 500)}\n\nTry the failing mail with 'chatbot run' on your machine, fix it and deploy again. (At most one such notice a day.)`,
    );
  }

  /** Resolves once the notices in flight are sent (or failed). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
