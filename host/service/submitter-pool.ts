// One SMTP submitter per bot, logged in as the bot and paced under the relay's per-account send
// rate (host.json `pacing`, policy/send-pacer.ts); opened on the bot's first mail, closed when the
// pipeline evicts the bot (drop) or stops.
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
  /** Per bot: its submitter and the password it logs in with. */
  private readonly submitters = new Map<string, { password: string; submitter: SmtpSubmitter }>();
  /** Per bot: its pacer, kept when the submitter is replaced (the relay's rate is per account). */
  private readonly pacers = new Map<string, SendPacer>();

  constructor(private readonly deps: SubmitterPoolDeps) {}

  /**
   * The bot's SMTP submitter, paced under the relay's per-account send rate (config `pacing`); a
   * new one (the old one closed) when the bot's password changed.
   */
  for(bot: InstalledBot): SmtpSubmitter {
    const addr = bot.account.addr;
    const kept = this.submitters.get(addr);
    if (kept && kept.password === bot.password) return kept.submitter;
    kept?.submitter.close();
    const inner = this.deps.submitterFor(bot);
    const pacer = this.pacers.get(addr) ?? this.pacers.set(addr, new SendPacer(this.deps.clock, this.deps.pacing)).get(addr)!;
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const submitter: SmtpSubmitter = { submit: (mail) => paced(pacer, sleep, () => inner.submit(mail)), close: () => inner.close() };
    this.submitters.set(addr, { password: bot.password, submitter });
    return submitter;
  }

  /**
   * The bot was evicted (bot-registry.ts): close its submitter (its SMTP connection). The pacers of
   * bots without a submitter are forgotten once idle — one still pacing is kept (a new one would let
   * a whole burst through), and goes at a later drop.
   */
  drop(addr: string): void {
    this.submitters.get(addr)?.submitter.close();
    this.submitters.delete(addr);
    for (const [kept, pacer] of this.pacers) if (!this.submitters.has(kept) && pacer.idle()) this.pacers.delete(kept);
  }

  /** Close every submitter (their SMTP connections); the next mail opens a new one. */
  closeAll(): void {
    for (const { submitter } of this.submitters.values()) submitter.close();
    this.submitters.clear();
  }
}
