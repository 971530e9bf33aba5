// `chatbot host serve`: drains the spool into the sandbox, planning one entry at a time. An
// entry leaves the spool only after every mail it causes was accepted by SMTP; its plan is
// journaled in the entry first, so a crash (even kill -9) at any point resumes instead of
// re-running the bot. The plan's state and seen mark are committed right after journaling,
// before SMTP, so the bot's next mail sees them even while this one waits for a retry — and so
// the next entries are planned while this one's mails are still being submitted (a pipeline,
// SUBMITS_IN_FLIGHT_MAX deep). A failed attempt is retried with backoff or dead-lettered at once,
// as the failure table says for its code (failure-class.ts); retries end after maxAttempts.
// Before a new entry runs, the bot's state must be local (state-mirror.ts pulls a missing
// state.json from the bot's account; while the account cannot be read, the entry waits) and its
// state writes under StateIoLimits (host/policy/state-io.ts; over them, the entry waits like over
// the CPU budget). Each committed state is counted there and marks the bot dirty for the mirror.
import { stat } from "node:fs/promises";
import { isChatbotError } from "../errors.js";
import { attemptsAllowed, classifyFailure, deadLetterReason, type DeadLetterCode } from "./failure-class.js";
import { DEFAULT_STATE_IO_LIMITS, MAIL_MAX_BYTES, POLICY_FLUSH_MS, SUBMITS_IN_FLIGHT_MAX, type StateIoLimits } from "../limits.js";
import { StateIo } from "../policy/state-io.js";
import type { StateMirror } from "./state-mirror.js";
import type { Executor } from "../executor/executor.js";
import type { Spool, SpoolEntry } from "../spool/spool.js";
import type { SmtpSubmitter } from "../wire/smtp-submit.js";
import { applyPlan, planMail, planTick, type MailPlan } from "./handle-mail.js";
import type { HostLog } from "./host-event.js";
import { flushBotPolicy, openBotPolicy, type BotPolicy } from "./bot-policy.js";
import { SendPacer, paced } from "../policy/send-pacer.js";
import { nextTick, tickOffsetMs } from "../policy/schedule.js";
import { readJsonFile, writeJsonFile, writePrivateFile } from "../storage/json-file.js";
import { readdir, readFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { HostConfig } from "./host-config.js";
import { loadInstalledBot, type InstalledBot } from "./installed-bots.js";
import { hostPaths } from "./paths.js";

/**
 * A queued tick is a spool entry whose content is this line plus the host's tick secret (random,
 * <data>/tick.key, 0600) and the tick's time. Nothing from outside knows the secret, so no mail can
 * pose as a tick, whatever door it came through.
 */
export const TICK_MARKER = "X-Chatbot-Tick: ";

/** The host's tick secret, created on first use. */
export async function loadTickSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, "tick.key");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    const secret = randomBytes(16).toString("hex");
    await writePrivateFile(file, secret);
    return secret;
  }
}

/** The content of a queued tick entry. */
export function tickEntry(secret: string, at: number): Uint8Array {
  return new TextEncoder().encode(`${TICK_MARKER}${secret} ${at}\r\n`);
}

/** The tick time of a queued tick entry carrying `secret`, or undefined for a mail. */
export function tickTime(raw: Uint8Array, secret: string): number | undefined {
  const head = Buffer.from(raw.subarray(0, 128)).toString("latin1");
  const prefix = `${TICK_MARKER}${secret} `;
  if (!head.startsWith(prefix)) return undefined;
  const at = Number(head.slice(prefix.length).split("\r")[0]);
  return Number.isFinite(at) ? at : undefined;
}

/** Delay before retry `attempt` (1-based), ms: 1 s, 5 s, 30 s, 2 min, 10 min, then hourly. */
export function backoffMs(attempt: number): number {
  const steps = [1_000, 5_000, 30_000, 120_000, 600_000];
  return steps[attempt - 1] ?? 3_600_000;
}

/** What the service needs; everything with an outside effect is injected (tests use fakes). */
export interface HostServiceDeps {
  dataDir: string;
  config: Readonly<HostConfig>;
  spool: Spool;
  executor: Executor;
  /** An SMTP submitter logged in as the bot (the host keeps one per bot). */
  submitterFor: (bot: InstalledBot) => SmtpSubmitter;
  clock: { now(): number };
  log: HostLog;
  /** Waits `ms` (the pacer's delays); real time by default, instant in tests with a fake clock. */
  sleep?: (ms: number) => Promise<void>;
  /** The bots' state copies in their accounts (state-mirror.ts): restored before a bot's first event, told of every save. */
  mirror?: Pick<StateMirror, "ensureRestored" | "markDirty">;
  /** State IO per bot (host/policy/state-io.ts); DEFAULT_STATE_IO_LIMITS when absent. */
  stateIoLimits?: Readonly<StateIoLimits>;
}

/** The drain loop and the installed bots it runs. */
export class HostService {
  private readonly bots = new Map<string, { bot: InstalledBot; policy: BotPolicy; loadedFrom: number }>();
  private readonly submitters = new Map<string, SmtpSubmitter>();
  private readonly stateIos = new Map<string, StateIo>();
  /** Per bot: its entries whose mails are being submitted (drainOnce). */
  private readonly submitting = new Map<string, Set<Promise<void>>>();
  private running = false;
  private secret: Promise<string> | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** A door spooled something since the current pass began. */
  private poked = false;

  constructor(private readonly deps: HostServiceDeps) {}

  private tickSecret(): Promise<string> {
    this.secret ??= loadTickSecret(this.deps.dataDir);
    return this.secret;
  }

  /** The installed bot `addr` and its policy, reloaded when its bot.json changed (install, upgrade, rollback, enable). */
  async bot(addr: string): Promise<{ bot: InstalledBot; policy: BotPolicy } | undefined> {
    const file = hostPaths(this.deps.dataDir).bot(addr).config;
    const mtime = await stat(file).then((s) => s.mtimeMs, () => undefined);
    if (mtime === undefined) return undefined;
    const cached = this.bots.get(addr);
    if (cached && cached.loadedFrom === mtime) return cached;
    // The old policy's held-back counters go to disk before the new one reads them.
    if (cached) await flushBotPolicy(cached.policy);
    const bot = await loadInstalledBot(this.deps.dataDir, addr, this.deps.config, () => this.deps.clock.now());
    if (!bot) return undefined;
    const loaded = { bot, policy: openBotPolicy(hostPaths(this.deps.dataDir).bot(addr).dir, bot.perUser, this.deps.config.ceilings.bot, this.deps.clock, { deferWrites: true }), loadedFrom: mtime };
    this.bots.set(addr, loaded);
    return loaded;
  }

  /** The bot's state IO over the last second. */
  private stateIo(addr: string): StateIo {
    let io = this.stateIos.get(addr);
    if (!io) {
      io = new StateIo(this.deps.clock, this.deps.stateIoLimits ?? DEFAULT_STATE_IO_LIMITS);
      this.stateIos.set(addr, io);
    }
    return io;
  }

  /**
   * Before a new entry of `addr` runs: its state must be local (restored from the account when
   * state.json is missing) and its state IO under the limits. Resolves with the time to try again
   * when not, after logging why.
   */
  private async waitBeforeRun(addr: string): Promise<number | undefined> {
    const restoreAt = await this.deps.mirror?.ensureRestored(addr);
    if (restoreAt !== undefined) return restoreAt;
    const io = this.stateIo(addr).check();
    if (io.allowed) return undefined;
    this.deps.log({ event: "bot.deferred", bot: addr, reason: `bot state writes ${io.limit} used up`, until: io.resumesAt });
    return io.resumesAt;
  }

  /** The bot's SMTP submitter, paced under the relay's per-account send rate (config `pacing`). */
  private submitter(bot: InstalledBot): SmtpSubmitter {
    let submitter = this.submitters.get(bot.account.addr);
    if (!submitter) {
      const inner = this.deps.submitterFor(bot);
      const pacer = new SendPacer(this.deps.clock, this.deps.config.pacing);
      const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
      submitter = { submit: (mail) => paced(pacer, sleep, () => inner.submit(mail)), close: () => inner.close() };
      this.submitters.set(bot.account.addr, submitter);
    }
    return submitter;
  }

  /** Queue the ticks that are due (hourly/daily bots); missed ticks after downtime are queued once. */
  async queueDueTicks(): Promise<number> {
    const names = await readdir(hostPaths(this.deps.dataDir).bots).catch(() => [] as string[]);
    let queued = 0;
    for (const addr of names) {
      const loaded = await this.bot(addr).catch(() => undefined);
      if (!loaded || !loaded.bot.settings.enabled || loaded.bot.manifest.schedule === "none") continue;
      const file = join(hostPaths(this.deps.dataDir).bot(addr).dir, "ticks.json");
      const last = await readJsonFile<{ lastTickAt?: number }>(file, {});
      const schedule = loaded.bot.manifest.schedule;
      // A new bot starts counting from its installation, not from the epoch.
      const plan = nextTick(schedule, last.lastTickAt ?? loaded.bot.settings.installedAt, this.deps.clock.now(), tickOffsetMs(addr, schedule));
      if (!plan.due) continue;
      await this.deps.spool.write(addr, tickEntry(await this.tickSecret(), plan.at), 1024);
      await writeJsonFile(file, { lastTickAt: plan.at });
      this.deps.log({ event: "tick.queued", bot: addr, at: plan.at });
      queued += 1;
    }
    return queued;
  }

  /**
   * Handle every entry that is ready now; resolves with how many were taken up. Entries are planned
   * one after another (a bot's next mail sees the state and seen marks of the one before), and
   * each entry's SMTP submission runs while the next ones are planned, up to
   * SUBMITS_IN_FLIGHT_MAX at once; the pass ends when every submission has settled.
   */
  async drainOnce(): Promise<number> {
    await this.queueDueTicks();
    const entries = await this.deps.spool.ready();
    const inFlight = new Set<Promise<void>>();
    let flushedAt = this.deps.clock.now();
    try {
      for (const entry of entries) {
        const submit = await this.plan(entry);
        if (submit) {
          const bot = this.submitting.get(entry.recipient) ?? new Set<Promise<void>>();
          this.submitting.set(entry.recipient, bot);
          const running: Promise<void> = submit().finally(() => {
            inFlight.delete(running);
            bot.delete(running);
          });
          inFlight.add(running);
          bot.add(running);
          if (inFlight.size >= SUBMITS_IN_FLIGHT_MAX) await Promise.race(inFlight);
        }
        if (this.deps.clock.now() - flushedAt >= POLICY_FLUSH_MS) {
          flushedAt = this.deps.clock.now();
          await this.flushPolicies();
        }
      }
    } finally {
      await Promise.all(inFlight);
      await this.flushPolicies();
    }
    return entries.length;
  }

  /** Write the usage counters the loaded bots hold back (POLICY_FLUSH_MS); a failure is logged and retried next time. */
  private async flushPolicies(): Promise<void> {
    for (const [addr, { policy }] of this.bots) {
      await flushBotPolicy(policy).catch((error: unknown) => this.deps.log({ event: "service.error", bot: addr, message: `cannot write usage counters: ${error instanceof Error ? error.message : String(error)}` }));
    }
  }

  /** Process one spool entry to completion, a retry later, the dead-letter folder, or a deferral. */
  async process(entry: SpoolEntry): Promise<void> {
    const submit = await this.plan(entry);
    await submit?.();
  }

  /**
   * The part of an entry that must not overlap the bot's next entry: run the bot (or resume a
   * journaled plan), journal the plan, commit its state and seen mark. Resolves with the rest —
   * submit the mails, then complete the entry — or undefined when the entry is finished here
   * (dead-lettered, deferred, or failed and scheduled for a retry). Neither part ever rejects.
   */
  private async plan(entry: SpoolEntry): Promise<(() => Promise<void>) | undefined> {
    const { spool, log } = this.deps;
    let current = entry;
    try {
      const loaded = await this.bot(entry.recipient);
      if (!loaded) return void (await this.deadLetter(entry, "BOT_NOT_INSTALLED", `${entry.recipient} is not an installed bot`));
      const { bot, policy } = loaded;
      if (!bot.settings.enabled) return void (await this.deadLetter(entry, "BOT_DISABLED", `${entry.recipient} is disabled`));
      let plan = entry.journal as MailPlan | undefined;
      if (!plan) {
        const waitUntil = await this.waitBeforeRun(entry.recipient);
        if (waitUntil !== undefined) {
          await spool.update(current, { nextAttemptAt: waitUntil });
          return undefined;
        }
        const raw = await spool.read(entry);
        const submitting = this.submitting.get(entry.recipient);
        const sentSettled = async () => void (await Promise.all(submitting ?? []));
        const deps = { executor: this.deps.executor, submitter: this.submitter(bot), log, maxMailBytes: MAIL_MAX_BYTES, policy, sentSettled };
        const tickAt = tickTime(raw, await this.tickSecret());
        plan = tickAt === undefined ? await planMail(bot, raw, deps) : await planTick(bot, tickAt, deps);
        if (plan.deferUntil !== undefined) {
          await spool.update(current, { nextAttemptAt: plan.deferUntil });
          return undefined;
        }
        current = await spool.update(current, { journal: plan });
      } else {
        log({ event: "spool.resume", bot: entry.recipient, entry: entry.id, submitted: plan.submitted, of: plan.mails.length });
      }
      // Fresh or resumed after a crash before this step: the state and seen mark are committed
      // here, before the bot's next entry is planned — never later by the submission running
      // beside it, which would overwrite that entry's state.
      if (plan.state || plan.seen) {
        const committed = await this.commit(bot, plan);
        // Only a journaled state must leave the journal before the bot's next entry runs (see
        // commit); a seen mark left in it is harmless — recording it again on resume is a no-op.
        if (plan.state) current = await spool.update(current, { journal: committed });
        plan = committed;
      }
      const journaled = plan;
      return async () => {
        try {
          await applyPlan(bot, journaled, { submitter: this.submitter(bot) }, async (submitted) => {
            // After the last mail the entry completes at once: no progress record in between (a
            // crash right there resends that one mail under its stable Message-ID, as it would
            // between SMTP's answer and any journal write).
            if (submitted < journaled.mails.length) current = await spool.update(current, { journal: { ...journaled, submitted } });
          });
          await spool.complete(current);
        } catch (error) {
          await this.failed(current, error);
        }
      };
    } catch (error) {
      await this.failed(current, error);
      return undefined;
    }
  }

  /**
   * A failed attempt: back off and retry, or dead-letter — what the failure table says for the
   * error's code (failure-class.ts: settle now, retry once, or retry up to maxAttempts). Never rejects.
   */
  private async failed(current: SpoolEntry, error: unknown): Promise<void> {
    try {
      const attempts = current.attempts + 1;
      const reason = isChatbotError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
      const failure = classifyFailure(error);
      if (attempts >= attemptsAllowed(failure.action, this.deps.config.maxAttempts)) {
        return await this.deadLetter({ ...current, attempts, lastError: reason }, failure.kind, `after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${reason}`, failure.why);
      }
      const nextAttemptAt = this.deps.clock.now() + backoffMs(attempts);
      await this.deps.spool.update(current, { attempts, nextAttemptAt, lastError: reason });
      this.deps.log({ event: "spool.retry", bot: current.recipient, entry: current.id, code: failure.kind, attempts, nextAttemptAt, error: reason });
    } catch (failure) {
      // The spool itself fails (disk full?): the entry stays as it is and is tried again next pass.
      this.deps.log({ event: "service.error", bot: current.recipient, entry: current.id, message: failure instanceof Error ? failure.message : String(failure) });
    }
  }

  /**
   * Save a journaled plan's new state and mark its mail seen before any of its mails go out, and
   * return the plan without them (the caller journals that). Done later, in applyPlan, an entry
   * waiting for SMTP (backoff) would let the bot's next mail run on the state from before it, and
   * its retry would then overwrite that mail's state; a re-delivered copy would run the bot again.
   * Safe against a crash: the bot never runs again for a journaled entry, and a crash before the
   * second journal write re-saves the same state on resume (the oldest ready entry goes first).
   */
  private async commit(bot: InstalledBot, plan: MailPlan): Promise<MailPlan> {
    if (plan.state) {
      // Counted as the state's JSON (what the state limit measures), one write per save.
      this.stateIo(bot.account.addr).record(Buffer.byteLength(JSON.stringify(plan.state), "utf8"));
      await bot.state.save(plan.state);
      this.deps.mirror?.markDirty(bot.account.addr);
    }
    if (plan.seen) await bot.account.seen.add(plan.seen.sender, plan.seen.messageId);
    const { seen: _seen, ...rest } = plan;
    return { ...rest, state: null };
  }

  /** Give the entry up: to spool/dead with `[code] text`, and a `spool.dead` line with the code (and why, for a failure). */
  private async deadLetter(entry: SpoolEntry, code: DeadLetterCode, text: string, why?: string): Promise<void> {
    const reason = deadLetterReason(code, text);
    await this.deps.spool.deadLetter(entry, reason);
    this.deps.log({ event: "spool.dead", bot: entry.recipient, entry: entry.id, code, attempts: entry.attempts, reason, ...(why ? { why } : {}) });
  }

  /** Wake the loop now (a door just spooled something); during a pass, the loop starts the next one at once. */
  poke(): void {
    this.poked = true;
    this.wake?.();
  }

  /** Drain continuously: after each pass, sleep until poked or `idleMs` passed (retries become ready). */
  start(idleMs = 1000): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        this.poked = false;
        try {
          await this.drainOnce();
        } catch (error) {
          this.deps.log({ event: "service.error", message: error instanceof Error ? error.message : String(error) });
        }
        if (!this.running) break;
        // Mail spooled during the pass is not in it: go again instead of sleeping up to idleMs.
        if (this.poked) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, idleMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    })();
  }

  /** Stop after the entry in progress; close SMTP connections. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    for (const submitter of this.submitters.values()) submitter.close();
    this.submitters.clear();
  }
}
