// One SMTP submitter per bot, logged in as the bot and paced under the relay's per-account send
// rate (host.json `pacing`, policy/send-pacer.ts); opened on the bot's first mail, closed on stop.
import type { SendPacing } from "../../core/limits.js";
import { SendPacer, paced } from "../policy/send-pacer.js";
import type { SmtpSubmitter } from "../wire/smtp-submit.js";
import type { InstalledBot } from "./installed-bots.js";
import type { Clock } from "../../core/clock.js";

/** What the pool needs; the submitter itself is injected (tests use fakes). */
export interface SubmitterPoolDeps {
  /** An SMTP submitter logged in as the bot. */
  submitterFor: (bot: InstalledBot) => SmtpSubmitter;
  clock: Clock;
  pacing: Readonly<SendPacing>;
  /** Waits `ms` (the pacer's delays); real time by default, instant in tests with a fake clock. */
  sleep?: (ms: number) => Promise<void>;
}

/** The bots' paced submitters, by address. */
export class SubmitterPool {
  private readonly submitters = new Map<string, SmtpSubmitter>();

  constructor(private readonly deps: SubmitterPoolDeps) {}

  /** The bot's SMTP submitter, paced under the relay's per-account send rate (config `pacing`). */
  for(bot: InstalledBot): SmtpSubmitter {
    let submitter = this.submitters.get(bot.account.addr);
    if (!submitter) {
      const inner = this.deps.submitterFor(bot);
      const pacer = new SendPacer(this.deps.clock, this.deps.pacing);
      const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
      submitter = { submit: (mail) => paced(pacer, sleep, () => inner.submit(mail)), close: () => inner.close() };
      this.submitters.set(bot.account.addr, submitter);
    }
    return submitter;
  }

  /** Close every submitter (their SMTP connections); the next mail opens a new one. */
  closeAll(): void {
    for (const submitter of this.submitters.values()) submitter.close();
    this.submitters.clear();
  }
}
