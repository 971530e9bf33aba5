// One spool entry, mail or tick, through one pipeline: load the bot → wait until it may run →
// plan (run the bot, handle-mail.ts) → journal the plan in the entry → commit its state and seen
// mark (commit-plan.ts) → submit its mails → complete the entry, or retry it later, or dead-letter
// it (retry-policy.ts). An entry leaves the spool only after every mail it causes was accepted by
// SMTP; its plan is journaled in the entry first, so a crash (even kill -9) at any point resumes
// instead of re-running the bot. The plan's state and seen mark are committed right after
// journaling, before SMTP, so the bot's next mail sees them even while this one waits for a retry —
// and so the drainer (host-service.ts) plans the next entries while this one's mails are still
// being submitted. A failed attempt is retried with backoff or dead-lettered at once, as the
// failure table says for its code (failure-class.ts, read by retry-policy.ts); retries end after
// maxAttempts.
// Before a new entry runs, the bot's state must be local (state-mirror.ts pulls a missing
// state.json from the bot's account; while the account cannot be read, the entry waits) and its
// state writes under StateIoLimits (host/policy/state-io.ts; over them, the entry waits like over
// the CPU budget). Each committed state is counted there and marks the bot dirty for the mirror.
// A new entry of a bot its author paused is not run: a mail goes to the account's INBOX (where
// Postfix puts its mail while paused), a tick is dropped (paused bots get none). An entry already
// journaled still finishes: the bot ran before the pause, its replies go out.
import type { Executor } from "../executor/executor.js";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import type { Spool, SpoolEntry } from "../spool/spool.js";
import type { BotLease, BotRegistry } from "./bot-registry.js";
import { commitPlan } from "./commit-plan.js";
import { deadLetterReason, type DeadLetterCode } from "./failure-class.js";
import { applyPlan, planMail, planTick } from "./handle-mail.js";
import type { HostConfig } from "./host-config.js";
import type { HostLog } from "./host-event.js";
import { probeNonce } from "./deploy-check.js";
import { decideRetry } from "./retry-policy.js";
import { journalOf, planOfJournal } from "./plan-journal.js";
import type { StateMirror } from "./state-mirror.js";
import type { InstalledBot } from "./installed-bots.js";
import type { SubmitterPool } from "./submitter-pool.js";
import type { TickScheduler } from "./tick-scheduler.js";
import { errorMessage } from "../../core/errors.js";
import type { Clock } from "../../core/clock.js";

/** What the pipeline needs: the spool, the sandbox, the parts it composes, a clock and the log. */
export interface EntryPipelineDeps {
  config: Pick<HostConfig, "maxAttempts">;
  spool: Spool;
  executor: Executor;
  registry: Pick<BotRegistry, "lease" | "stateIo">;
  submitters: Pick<SubmitterPool, "for">;
  ticks: Pick<TickScheduler, "tickTimeOf">;
  clock: Clock;
  log: HostLog;
  /** The bots' state copies in their accounts (state-mirror.ts): restored before a bot's first event, told of every save. */
  mirror?: Pick<StateMirror, "ensureRestored" | "markDirty">;
  /** True while the author has `addr` paused (author-controls.ts). */
  isPaused: (addr: string) => boolean;
  /** Put a mail for a paused bot into its account's INBOX, unrun; without it such a mail is dead-lettered BOT_PAUSED. */
  toMailbox?: (bot: InstalledBot, raw: Uint8Array) => Promise<void>;
}

/** The rest of an entry once its plan is committed: submit, then complete (or retry). Never rejects. */
export type SubmitStep = () => Promise<void>;

/** Takes spool entries through plan, journal, commit, submit and their end. */
export class EntryPipeline {
  constructor(private readonly deps: EntryPipelineDeps) {}

  /**
   * The part of an entry that must not overlap the bot's next entry: run the bot (or resume a
   * journaled plan), journal the plan, commit its state and seen mark. Resolves with the rest —
   * submit the mails, then complete the entry — or undefined when the entry is finished here
   * (dead-lettered, deferred, or failed and scheduled for a retry). Neither part ever rejects.
   * `sentSettled` resolves once the bot's earlier entries still being submitted are done (handle-mail.ts).
   */
  async prepare(entry: SpoolEntry, sentSettled: () => Promise<void>): Promise<SubmitStep | undefined> {
    // The bot stays loaded (not evicted: bot-registry.ts) until its entry is done, submit included.
    const held: { lease?: BotLease | undefined } = {};
    const submit = await this.prepareHeld(entry, sentSettled, held);
    if (!submit) {
      held.lease?.release();
      return undefined;
    }
    return async () => {
      try {
        await submit();
      } finally {
        held.lease?.release();
      }
    };
  }

  /** prepare() with the bot's lease put in `held` once taken. */
  private async prepareHeld(entry: SpoolEntry, sentSettled: () => Promise<void>, held: { lease?: BotLease | undefined }): Promise<SubmitStep | undefined> {
    const { spool, log } = this.deps;
    let current = entry;
    try {
      const loaded = (held.lease = await this.deps.registry.lease(entry.recipient));
      if (!loaded) return void (await this.deadLetter(entry, "BOT_NOT_INSTALLED", `${entry.recipient} is not an installed bot`));
      const { bot, policy } = loaded;
      if (!bot.settings.enabled) {
        // `host doctor`'s probe proves the route whatever the bot's state: settled as for any bot.
        if (!entry.journal && (await this.settledProbe(entry, await spool.read(entry)))) return undefined;
        return void (await this.deadLetter(entry, "BOT_DISABLED", `${entry.recipient} is disabled`));
      }
      let plan = entry.journal === undefined ? undefined : await planOfJournal(bot, entry.journal);
      if (!plan && this.deps.isPaused(entry.recipient)) return void (await this.handOverPaused(entry, bot));
      if (!plan) {
        const waitUntil = await this.waitBeforeRun(entry.recipient);
        if (waitUntil !== undefined) {
          await spool.update(current, { nextAttemptAt: waitUntil });
          return undefined;
        }
        const raw = await spool.read(entry);
        if (await this.settledProbe(current, raw)) return undefined;
        const deps = { executor: this.deps.executor, submitter: this.deps.submitters.for(bot), log, maxMailBytes: MAIL_MAX_BYTES, policy, sentSettled };
        const tickAt = await this.deps.ticks.tickTimeOf(raw);
        plan = tickAt === undefined ? await planMail(bot, raw, deps) : await planTick(bot, tickAt, deps);
        if (plan.deferUntil !== undefined) {
          await spool.update(current, { nextAttemptAt: plan.deferUntil });
          return undefined;
        }
        current = await spool.update(current, { journal: journalOf(plan) });
      } else {
        log({ event: "spool.resume", bot: entry.recipient, entry: entry.id, submitted: plan.submitted, of: plan.mails.length });
      }
      // Fresh or resumed after a crash before this step: the state and seen mark are committed
      // here, before the bot's next entry is planned — never later by the submission running
      // beside it, which would overwrite that entry's state.
      const journaled = await commitPlan(bot, plan, {
        stateIo: this.deps.registry.stateIo(bot.account.addr),
        markDirty: (addr) => this.deps.mirror?.markDirty(addr),
      });
      // Only a journaled state must leave the journal before the bot's next entry runs (see
      // commitPlan); a seen mark left in it is harmless — recording it again on resume is a no-op.
      if (plan.state) current = await spool.update(current, { journal: journalOf(journaled) });
      return async () => {
        try {
          await applyPlan(bot, journaled, { submitter: this.deps.submitters.for(bot) }, async (submitted) => {
            // After the last mail the entry completes at once: no progress record in between (a
            // crash right there resends that one mail under its stable Message-ID, as it would
            // between SMTP's answer and any journal write).
            if (submitted < journaled.mails.length) current = await spool.update(current, { journal: journalOf({ ...journaled, submitted }) });
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
   * Before a new entry of `addr` runs: its state must be local (restored from the account when
   * state.json is missing) and its state IO under the limits. Resolves with the time to try again
   * when not, after logging why.
   */
  private async waitBeforeRun(addr: string): Promise<number | undefined> {
    const restoreAt = await this.deps.mirror?.ensureRestored(addr);
    if (restoreAt !== undefined) return restoreAt;
    const io = this.deps.registry.stateIo(addr).check();
    if (io.allowed) return undefined;
    this.deps.log({ event: "bot.deferred", bot: addr, reason: `bot state writes ${io.limit} used up`, until: io.resumesAt });
    return io.resumesAt;
  }

  /** `host doctor`'s probe of the route (route-probe.ts): it reached the door, and that is all it is for. True when `raw` was one (logged, completed). */
  private async settledProbe(entry: SpoolEntry, raw: Uint8Array): Promise<boolean> {
    const nonce = probeNonce(raw);
    if (nonce === undefined) return false;
    this.deps.log({ event: "route.probe", bot: entry.recipient, nonce });
    await this.deps.spool.complete(entry);
    return true;
  }

  /** A new entry of a paused bot: its mail to the account's INBOX, its tick dropped; logged either way. */
  private async handOverPaused(entry: SpoolEntry, bot: InstalledBot): Promise<void> {
    const { spool, log } = this.deps;
    const raw = await spool.read(entry);
    if (await this.settledProbe(entry, raw)) return;
    if ((await this.deps.ticks.tickTimeOf(raw)) !== undefined) {
      log({ event: "bot.paused", bot: entry.recipient, entry: entry.id, kind: "tick", to: "dropped" });
      return spool.complete(entry);
    }
    if (!this.deps.toMailbox) return this.deadLetter(entry, "BOT_PAUSED", `${entry.recipient} is paused by its author`);
    await this.deps.toMailbox(bot, raw);
    log({ event: "bot.paused", bot: entry.recipient, entry: entry.id, kind: "mail", to: "mailbox" });
    await spool.complete(entry);
  }

  /**
   * A failed attempt: back off and retry, or dead-letter — what retry-policy.ts decides from the
   * failure table (failure-class.ts: settle now, retry once, or retry up to maxAttempts). Never rejects.
   */
  private async failed(current: SpoolEntry, error: unknown): Promise<void> {
    try {
      const decision = decideRetry(error, current.attempts, this.deps.config.maxAttempts, this.deps.clock.now());
      const { attempts, reason } = decision;
      if (decision.action === "dead-letter") {
        return await this.deadLetter({ ...current, attempts, lastError: reason }, decision.kind, decision.text, decision.why);
      }
      await this.deps.spool.update(current, { attempts, nextAttemptAt: decision.nextAttemptAt, lastError: reason });
      this.deps.log({
        event: "spool.retry",
        bot: current.recipient,
        entry: current.id,
        code: decision.kind,
        attempts,
        nextAttemptAt: decision.nextAttemptAt,
        error: reason,
      });
    } catch (failure) {
      // The spool itself fails (disk full?): the entry stays as it is and is tried again next pass.
      this.deps.log({ event: "service.error", bot: current.recipient, entry: current.id, message: errorMessage(failure) });
    }
  }

  /** Give the entry up: to spool/dead with `[code] text`, and a `spool.dead` line with the code (and why, for a failure). */
  private async deadLetter(entry: SpoolEntry, code: DeadLetterCode, text: string, why?: string): Promise<void> {
    const reason = deadLetterReason(code, text);
    await this.deps.spool.deadLetter(entry, reason);
    this.deps.log({ event: "spool.dead", bot: entry.recipient, entry: entry.id, code, attempts: entry.attempts, reason, ...(why ? { why } : {}) });
  }
}
