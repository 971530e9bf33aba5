// `chatbot host serve`'s drain loop: takes the spool's ready entries one after another through the
// entry pipeline (entry-pipeline.ts: plan, journal, commit, submit, complete/retry/dead-letter) and
// keeps each entry's SMTP submission running while the next ones are planned (a pipeline,
// SUBMITS_IN_FLIGHT_MAX deep). Between passes it sleeps until a door pokes it or `idleMs` passed.
// The parts it composes, one job each: bot-registry.ts (installed bots, policies, state IO),
// submitter-pool.ts (one paced SMTP submitter per bot), tick-scheduler.ts (due ticks into the
// spool), retry-policy.ts (backoff or dead letter), commit-plan.ts (the one commit point).
import { DRAIN_IDLE_MS, IDLE_GC_MS, POLICY_FLUSH_MS, SUBMITS_IN_FLIGHT_MAX, type LoadedBotsLimits, type StateIoLimits } from "../../core/limits.js";
import type { StateMirror } from "./state-mirror.js";
import type { Executor } from "../executor/executor.js";
import type { Spool, SpoolEntry } from "../spool/spool.js";
import type { SmtpSubmitter } from "../wire/smtp-submit.js";
import type { HostLog } from "./host-event.js";
import type { HostConfig } from "./host-config.js";
import type { InstalledBot } from "./installed-bots.js";
import { BotRegistry, type LoadedBot } from "./bot-registry.js";
import { SubmitterPool } from "./submitter-pool.js";
import { TickScheduler } from "./tick-scheduler.js";
import { EntryPipeline } from "./entry-pipeline.js";
import { isPaused } from "./author-controls.js";
import { errorMessage } from "../../core/errors.js";
import type { Clock } from "../../core/clock.js";
import type { RestAnswer } from "./pipeline-rest.js";
import { Serial } from "../policy/serial.js";

/** What the service needs; everything with an outside effect is injected (tests use fakes). */
export interface HostServiceDeps {
  dataDir: string;
  config: Readonly<HostConfig>;
  spool: Spool;
  executor: Executor;
  /** An SMTP submitter logged in as the bot (the host keeps one per bot). */
  submitterFor: (bot: InstalledBot) => SmtpSubmitter;
  clock: Clock;
  log: HostLog;
  /** Waits `ms` (the pacer's delays); real time by default, instant in tests with a fake clock. */
  sleep?: (ms: number) => Promise<void>;
  /** The bots' state copies in their accounts (state-mirror.ts): restored before a bot's first event, told of every save. */
  mirror?: Pick<StateMirror, "ensureRestored" | "markDirty">;
  /** State IO per bot (host/policy/state-io.ts); DEFAULT_STATE_IO_LIMITS when absent. */
  stateIoLimits?: Readonly<StateIoLimits>;
  /** How many bots stay loaded between their events (bot-registry.ts); LOADED_BOTS when absent. */
  loadedBots?: Readonly<LoadedBotsLimits>;
  /** Put a mail for a paused bot into its account's INBOX (entry-pipeline.ts); without it such mail is dead-lettered. */
  toMailbox?: (bot: InstalledBot, raw: Uint8Array) => Promise<void>;
  /**
   * Called once when the drain loop (start()) finds the host idle IDLE_GC_MS after it last did work
   * (`host serve`: service/idle-gc.ts collectGarbage). Not called by drainOnce alone.
   */
  collectGarbage?: () => void;
}

/** The drain loop and the installed bots it runs. */
export class HostService {
  private readonly registry: BotRegistry;
  private readonly submitters: SubmitterPool;
  private readonly ticks: TickScheduler;
  private readonly pipeline: EntryPipeline;
  /** Per bot: its entries whose mails are being submitted (drainOnce). */
  private readonly submitting = new Map<string, Set<Promise<void>>>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** When the host may collect its garbage (IDLE_GC_MS after its last work), ms on the clock; undefined: done, or no work since. */
  private gcDueAt: number | undefined;
  /** A door spooled something since the current pass began. */
  private poked = false;
  /** When the first entry that was waiting at the last pass is due, ms on the clock (Infinity: none). */
  private nextDueAt = Number.POSITIVE_INFINITY;
  /** When a pass last handled an entry, ms on the clock. */
  private lastWorkAt = Number.NEGATIVE_INFINITY;
  /** The loop's passes and the rest check's scan, one at a time (two tick scans at once could queue a tick twice). */
  private readonly passes = new Serial();
  private passing = false;
  /** stop() was called: the pass in progress ends after its current entry. */
  private stopping = false;
  /** When the usage counters were last written, ms on the clock (POLICY_FLUSH_MS). */
  private policiesFlushedAt = Number.NEGATIVE_INFINITY;
  /** Passes changed counters that are not written yet: the loop writes them POLICY_FLUSH_MS after the last write. */
  private policiesHeldBack = false;

  constructor(private readonly deps: HostServiceDeps) {
    const { dataDir, config, spool, executor, clock, log, mirror } = deps;
    this.submitters = new SubmitterPool({ submitterFor: deps.submitterFor, clock, pacing: config.pacing, ...(deps.sleep ? { sleep: deps.sleep } : {}) });
    this.registry = new BotRegistry({
      dataDir,
      config,
      clock,
      log,
      ...(deps.stateIoLimits ? { stateIoLimits: deps.stateIoLimits } : {}),
      ...(deps.loadedBots ? { loadedBots: deps.loadedBots } : {}),
      onEvicted: (addr) => this.submitters.drop(addr),
    });
    this.ticks = new TickScheduler({ dataDir, spool, registry: this.registry, clock, log });
    this.pipeline = new EntryPipeline({
      config,
      spool,
      executor,
      registry: this.registry,
      submitters: this.submitters,
      ticks: this.ticks,
      clock,
      log,
      isPaused: (addr) => isPaused(dataDir, addr),
      ...(mirror ? { mirror } : {}),
      ...(deps.toMailbox ? { toMailbox: deps.toMailbox } : {}),
    });
  }

  /** The installed bot `addr` and its policy, reloaded when its bot.json changed (install, upgrade, rollback, enable). */
  bot(addr: string): Promise<LoadedBot | undefined> {
    return this.registry.bot(addr);
  }

  /** The bots loaded now (bounded: core/limits.ts LOADED_BOTS) and how many were evicted since the start. */
  loadedBots(): ReturnType<BotRegistry["loaded"]> {
    return this.registry.loaded();
  }

  /** Queue the ticks that are due (hourly/daily bots); missed ticks after downtime are queued once. */
  queueDueTicks(): Promise<number> {
    return this.ticks.queueDueTicks();
  }

  /**
   * Handle every entry that is ready now; resolves with how many were taken up. Entries are planned
   * one after another (a bot's next mail sees the state and seen marks of the one before), and
   * each entry's SMTP submission runs while the next ones are planned, up to
   * SUBMITS_IN_FLIGHT_MAX at once; the pass ends when every submission has settled.
   */
  async drainOnce(): Promise<number> {
    return this.pass(false);
  }

  /**
   * One pass. The counters its entries changed are written at its end, or with `holdBack` (the loop)
   * only once POLICY_FLUSH_MS passed since they were last written: the loop writes them when that
   * time comes. Single mails a few hundred ms apart then share one write of usage.json and
   * cpu-budget.json (4 fsyncs of the 8 a mail cost the pipeline), and a crash still loses at most
   * POLICY_FLUSH_MS of counting, as within a pass.
   */
  private async pass(holdBack: boolean): Promise<number> {
    await this.ticks.queueDueTicksThrottled();
    // The loop sleeps until the first waiting entry is due (a retry, a deferral), or a door pokes.
    const { ready: entries, nextAt } = await this.deps.spool.due();
    this.nextDueAt = nextAt;
    const inFlight = new Set<Promise<void>>();
    try {
      for (const entry of entries) {
        // A stop waits for the entry in progress, not for the rest of the pass (a burst of 200 would
        // hold a stopping host, or a killed door's pipeline, for their whole run).
        if (this.stopping) break;
        const submit = await this.prepare(entry);
        if (submit) {
          const bot = this.submitting.get(entry.recipient) ?? new Set<Promise<void>>();
          this.submitting.set(entry.recipient, bot);
          const running: Promise<void> = submit().finally(() => {
            inFlight.delete(running);
            bot.delete(running);
            // Kept per bot only while it has mails in flight (a relay's bots are many).
            if (bot.size === 0 && this.submitting.get(entry.recipient) === bot) this.submitting.delete(entry.recipient);
          });
          inFlight.add(running);
          bot.add(running);
          if (inFlight.size >= SUBMITS_IN_FLIGHT_MAX) await Promise.race(inFlight);
        }
        if (this.policiesFlushDue()) await this.flushPolicies();
      }
    } finally {
      await Promise.all(inFlight);
      // A loop pass that handled nothing changed no counter: it neither writes nor restarts the wait.
      if (entries.length > 0) this.policiesHeldBack = true;
      if (!holdBack || (this.policiesHeldBack && this.policiesFlushDue())) await this.flushPolicies();
    }
    return entries.length;
  }

  /** POLICY_FLUSH_MS passed since the counters were last written. */
  private policiesFlushDue(): boolean {
    return this.deps.clock.now() - this.policiesFlushedAt >= POLICY_FLUSH_MS;
  }

  /** Write the counters the loaded bots hold back (a failure is logged and retried next time). */
  private async flushPolicies(): Promise<void> {
    this.policiesFlushedAt = this.deps.clock.now();
    this.policiesHeldBack = false;
    await this.registry.flushPolicies();
  }

  /** Process one spool entry to completion, a retry later, the dead-letter folder, or a deferral. */
  async process(entry: SpoolEntry): Promise<void> {
    const submit = await this.prepare(entry);
    await submit?.();
  }

  /** The pipeline's first part for `entry`; a delete or resend in it waits for the bot's mails in flight. */
  private prepare(entry: SpoolEntry): ReturnType<EntryPipeline["prepare"]> {
    return this.pipeline.prepare(entry, async () => void (await Promise.all(this.submitting.get(entry.recipient) ?? [])));
  }

  /**
   * For the pipeline's rest (pipeline-rest.ts): busy while a pass runs or within `quietMs` of the
   * last handled entry; else, after a fresh tick scan, busy when ticks or entries are ready (the
   * loop is poked for them), or the earliest of the spool's waiting entries (retries, deferrals)
   * and the bots' next ticks. The scan reads every bot's stamps: call it once the rest of the
   * process has been quiet, not on every look.
   */
  async restAnswer(quietMs: number): Promise<RestAnswer> {
    if (this.passing || this.deps.clock.now() - this.lastWorkAt < quietMs) return "busy";
    return this.passes.run(async (): Promise<RestAnswer> => {
      const queued = await this.ticks.queueDueTicks();
      const { ready, nextAt } = await this.deps.spool.due();
      if (queued > 0 || ready.length > 0) {
        this.poke();
        return "busy";
      }
      return Math.min(nextAt, this.ticks.nextDueAt(this.deps.clock.now()));
    });
  }

  /** Wake the loop now (a door just spooled something); during a pass, the loop starts the next one at once. */
  poke(): void {
    this.poked = true;
    this.wake?.();
  }

  /**
   * Drain continuously: after each pass, sleep until a door pokes (LMTP, or the spool's folder
   * changed: `host deliver` and ticks), the first waiting entry is due, or `idleMs` passed (the
   * tick scan's turn). Idle, the host then wakes twice a minute, not every second (issue 15).
   */
  start(idleMs = DRAIN_IDLE_MS): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        this.poked = false;
        const scansBefore = this.ticks.scans;
        try {
          const handled = await this.passes.run(async () => {
            this.passing = true;
            try {
              return await this.pass(true);
            } finally {
              this.passing = false;
            }
          });
          if (handled > 0) this.lastWorkAt = this.deps.clock.now();
          this.afterPass(handled > 0 || this.ticks.scans !== scansBefore);
        } catch (error) {
          this.deps.log({ event: "service.error", message: errorMessage(error) });
        }
        if (!this.running) break;
        // Mail spooled during the pass is not in it: go again instead of sleeping up to idleMs.
        if (this.poked) continue;
        await this.flushHeldBackIfDue();
        if (this.poked) continue;
        const now = this.deps.clock.now();
        const untilDue = this.nextDueAt - now;
        // Also wake when the idle collection is due, so it comes IDLE_GC_MS after the work, not up to idleMs later.
        const untilGc = this.gcDueAt === undefined ? Number.POSITIVE_INFINITY : this.gcDueAt - now;
        // And when held-back counters are due to be written.
        const untilFlush = this.policiesHeldBack ? this.policiesFlushedAt + POLICY_FLUSH_MS - now : Number.POSITIVE_INFINITY;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, Math.min(idleMs, untilDue, untilGc, untilFlush)));
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
      // Stopping (a rest, SIGTERM): nothing counted stays in memory only.
      if (this.policiesHeldBack) await this.passes.run(() => this.flushPolicies());
    })();
  }

  /** Write held-back counters whose POLICY_FLUSH_MS came (between passes: no entry is changing them). */
  private async flushHeldBackIfDue(): Promise<void> {
    if (!this.policiesHeldBack || !this.policiesFlushDue()) return;
    await this.passes.run(() => this.flushPolicies());
  }

  /** After a pass of the loop: work arms the idle collection; a pass without work past its time runs it, once. */
  private afterPass(didWork: boolean): void {
    const now = this.deps.clock.now();
    if (didWork) this.gcDueAt = now + IDLE_GC_MS;
    else if (this.gcDueAt !== undefined && now >= this.gcDueAt) {
      this.gcDueAt = undefined;
      this.deps.collectGarbage?.();
    }
  }

  /** Stop after the entry in progress; close SMTP connections. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.running = false;
    this.wake?.();
    await this.loop;
    this.submitters.closeAll();
  }
}
