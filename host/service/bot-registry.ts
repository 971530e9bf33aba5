// The installed bots as the drain loop sees them: each bot's settings and policy, loaded on its
// first event and reloaded when its bot.json changes (install, upgrade, rollback, enable), and each
// bot's state IO over the last second (host/policy/state-io.ts). Policies are opened with deferred
// writes: their usage counters reach disk on flushPolicies (the drainer calls it every
// POLICY_FLUSH_MS), when a reload replaces them and when the bot is evicted.
//
// Bounded (core/limits.ts LOADED_BOTS): an entry takes a lease on its bot for as long as it runs
// (plan, journal, submit), and a bot with no lease is evicted once it was idle for idleMs or the
// loaded bots pass maxBots or maxBundleChars, least recently used first. A lease never sees its bot
// evicted, and a bot being evicted is loaded again only after its counters are written: one bot
// has one set of stores writing its files at a time (a reload after bot.json changed is the
// exception it always was: entries in flight finish on the old load).
import { readdir, stat } from "../spool/file-io.js";
import { DEFAULT_STATE_IO_LIMITS, LOADED_BOTS, type LoadedBotsLimits, type StateIoLimits } from "../../core/limits.js";
import { StateIo } from "../policy/state-io.js";
import { flushBotPolicy, openBotPolicy, type BotPolicy } from "./bot-policy.js";
import type { HostConfig } from "./host-config.js";
import type { HostLog } from "./host-event.js";
import { loadInstalledBot, type InstalledBot } from "./installed-bots.js";
import { hostPaths } from "./paths.js";
import { errorMessage } from "../../core/errors.js";
import type { Clock } from "../../core/clock.js";

/** An installed bot and the policy its events go through. */
export interface LoadedBot {
  bot: InstalledBot;
  policy: BotPolicy;
}

/** A loaded bot held by one entry: it stays loaded until `release()` (idempotent). */
export interface BotLease extends LoadedBot {
  release(): void;
}

/** What the registry reads: the data directory, the host's configuration and a clock. */
export interface BotRegistryDeps {
  dataDir: string;
  config: Readonly<HostConfig>;
  clock: Clock;
  log: HostLog;
  /** State IO per bot; DEFAULT_STATE_IO_LIMITS when absent. */
  stateIoLimits?: Readonly<StateIoLimits>;
  /** How many bots stay loaded; LOADED_BOTS when absent. */
  loadedBots?: Readonly<LoadedBotsLimits>;
  /** Told each evicted bot, after its counters were written: drop what else is kept for it (its SMTP submitter). */
  onEvicted?: (addr: string) => void;
}

/** One loaded bot: what it is, which bot.json/password it came from, who holds it, when it was last used. */
interface Slot extends LoadedBot {
  loadedFrom: string;
  leases: number;
  lastUsedAt: number;
}

/** The loaded bots, their policies and their state IO, by address. */
export class BotRegistry {
  /** In order of last use, least recent first (a use moves a bot to the end). */
  private readonly bots = new Map<string, Slot>();
  private readonly stateIos = new Map<string, StateIo>();
  /** Bots being evicted: their counters being written. A load waits for it. */
  private readonly evicting = new Map<string, Promise<void>>();
  private bundleChars = 0;
  private evictedTotal = 0;

  constructor(private readonly deps: BotRegistryDeps) {}

  /** The addresses with a folder under <data>/bots (installed or not: bot() says). */
  async addrs(): Promise<string[]> {
    return readdir(hostPaths(this.deps.dataDir).bots).catch(() => [] as string[]);
  }

  /**
   * The installed bot `addr` and its policy, reloaded when its bot.json changed (install, upgrade,
   * rollback, enable) or its password file did (a deploy with the account's new password). Not a
   * lease, and evicts nothing: an entry that runs the bot takes a lease (lease()).
   */
  async bot(addr: string): Promise<LoadedBot | undefined> {
    return this.load(addr);
  }

  /** The bot `addr` held until `release()`: not evicted meanwhile. Undefined when it is not installed. */
  async lease(addr: string): Promise<BotLease | undefined> {
    const slot = await this.load(addr);
    if (!slot) return undefined;
    slot.leases += 1;
    // Room for it: the least recently used ones without a lease go (never this one, held now).
    this.evictBeyond(false);
    let released = false;
    return {
      bot: slot.bot,
      policy: slot.policy,
      release: () => {
        if (released) return;
        released = true;
        slot.leases -= 1;
        slot.lastUsedAt = this.deps.clock.now();
        this.evictBeyond(false);
      },
    };
  }

  /** Bots loaded now, their bundles' characters, and how many were evicted since the start. */
  loaded(): { bots: number; bundleChars: number; evicted: number } {
    return { bots: this.bots.size, bundleChars: this.bundleChars, evicted: this.evictedTotal };
  }

  private async load(addr: string): Promise<Slot | undefined> {
    const paths = hostPaths(this.deps.dataDir).bot(addr);
    const mtimeOf = (file: string) =>
      stat(file).then(
        (s) => s.mtimeMs,
        () => undefined,
      );
    const [configAt, passwordAt] = await Promise.all([mtimeOf(paths.config), mtimeOf(paths.password)]);
    // An eviction of this bot writes its counters first: a load now would read them before.
    await this.evicting.get(addr);
    if (configAt === undefined) return undefined;
    const mtime = `${configAt}/${passwordAt ?? "-"}`;
    const cached = this.bots.get(addr);
    if (cached && cached.loadedFrom === mtime) {
      this.touch(addr, cached);
      return cached;
    }
    // The old policy's held-back counters go to disk before the new one reads them.
    if (cached) await flushBotPolicy(cached.policy);
    const bot = await loadInstalledBot(this.deps.dataDir, addr, this.deps.config, this.deps.clock);
    if (!bot) return undefined;
    // Two loads of one bot at once (two entries' first look): the one set first is kept.
    const raced = this.bots.get(addr);
    if (raced && raced.loadedFrom === mtime) {
      this.touch(addr, raced);
      return raced;
    }
    this.forget(addr);
    const slot: Slot = {
      bot,
      policy: openBotPolicy(paths.dir, bot.perUser, this.deps.config.ceilings.bot, this.deps.clock, { deferWrites: true }),
      loadedFrom: mtime,
      leases: 0,
      lastUsedAt: this.deps.clock.now(),
    };
    this.bots.set(addr, slot);
    this.bundleChars += bot.bundle.code.length;
    return slot;
  }

  /** `slot` was used now: it moves to the end of the order. */
  private touch(addr: string, slot: Slot): void {
    slot.lastUsedAt = this.deps.clock.now();
    this.bots.delete(addr);
    this.bots.set(addr, slot);
  }

  /** Take `addr` out of the loaded bots (its slot, if any, is no longer counted). */
  private forget(addr: string): void {
    const slot = this.bots.get(addr);
    if (!slot) return;
    this.bots.delete(addr);
    this.bundleChars -= slot.bot.bundle.code.length;
  }

  /**
   * Evict bots without a lease, least recently used first, while the loaded ones are over a cap,
   * and (with `idleToo`) every one idle for idleMs. Synchronous up to the counters' write, which
   * later loads of the same bot wait for.
   */
  private evictBeyond(idleToo: boolean): void {
    const limits = this.deps.loadedBots ?? LOADED_BOTS;
    const now = this.deps.clock.now();
    const evicted: string[] = [];
    for (const [addr, slot] of this.bots) {
      const overCap = this.bots.size > limits.maxBots || this.bundleChars > limits.maxBundleChars;
      const idle = idleToo && now - slot.lastUsedAt >= limits.idleMs;
      if (!overCap && !idle) {
        // In order of use: the rest were used more recently (not idle either).
        if (!idleToo) break;
        continue;
      }
      if (slot.leases > 0) continue;
      this.forget(addr);
      evicted.push(addr);
      const written = this.flushLogged(addr, slot.policy).finally(() => {
        if (this.evicting.get(addr) === written) this.evicting.delete(addr);
        this.deps.onEvicted?.(addr);
      });
      this.evicting.set(addr, written);
    }
    // In the sweep (once a second while the loop works), not at every lease: a state-IO window of an
    // unloaded bot with no write in its last second holds nothing, and a new one is the same.
    if (idleToo) for (const [addr, io] of this.stateIos) if (!this.bots.has(addr) && io.idle()) this.stateIos.delete(addr);
    if (evicted.length === 0) return;
    this.evictedTotal += evicted.length;
    this.deps.log({ event: "bots.evicted", count: evicted.length, loaded: this.bots.size, why: idleToo ? "idle" : "cap" });
  }

  /** The bot's state IO over the last second. */
  stateIo(addr: string): StateIo {
    let io = this.stateIos.get(addr);
    if (!io) {
      io = new StateIo(this.deps.clock, this.deps.stateIoLimits ?? DEFAULT_STATE_IO_LIMITS);
      this.stateIos.set(addr, io);
    }
    return io;
  }

  /**
   * Write the usage counters the loaded bots hold back (POLICY_FLUSH_MS); a failure is logged and
   * retried next time. Then evict the bots idle for LOADED_BOTS.idleMs.
   */
  async flushPolicies(): Promise<void> {
    for (const [addr, { policy }] of this.bots) await this.flushLogged(addr, policy);
    this.evictBeyond(true);
    await Promise.all(this.evicting.values());
  }

  /** Write `policy`'s held-back counters; a failure is logged (they stay held back for the next try). */
  private flushLogged(addr: string, policy: BotPolicy): Promise<void> {
    return flushBotPolicy(policy).catch((error: unknown) =>
      this.deps.log({ event: "service.error", bot: addr, message: `cannot write usage counters: ${errorMessage(error)}` }),
    );
  }
}
