// The installed bots as the drain loop sees them: each bot's settings and policy, loaded once and
// reloaded when its bot.json changes (install, upgrade, rollback, enable), and each bot's state IO
// over the last second (host/policy/state-io.ts). Policies are opened with deferred writes: their
// usage counters reach disk on flushPolicies (the drainer calls it every POLICY_FLUSH_MS) and when
// a reload replaces them.
import { readdir, stat } from "../spool/file-io.js";
import { DEFAULT_STATE_IO_LIMITS, type StateIoLimits } from "../../core/limits.js";
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

/** What the registry reads: the data directory, the host's configuration and a clock. */
export interface BotRegistryDeps {
  dataDir: string;
  config: Readonly<HostConfig>;
  clock: Clock;
  log: HostLog;
  /** State IO per bot; DEFAULT_STATE_IO_LIMITS when absent. */
  stateIoLimits?: Readonly<StateIoLimits>;
}

/** The loaded bots, their policies and their state IO, by address. */
export class BotRegistry {
  private readonly bots = new Map<string, LoadedBot & { loadedFrom: string }>();
  private readonly stateIos = new Map<string, StateIo>();

  constructor(private readonly deps: BotRegistryDeps) {}

  /** The addresses with a folder under <data>/bots (installed or not: bot() says). */
  async addrs(): Promise<string[]> {
    return readdir(hostPaths(this.deps.dataDir).bots).catch(() => [] as string[]);
  }

  /**
   * The installed bot `addr` and its policy, reloaded when its bot.json changed (install, upgrade,
   * rollback, enable) or its password file did (a deploy with the account's new password).
   */
  async bot(addr: string): Promise<LoadedBot | undefined> {
    const paths = hostPaths(this.deps.dataDir).bot(addr);
    const mtimeOf = (file: string) =>
      stat(file).then(
        (s) => s.mtimeMs,
        () => undefined,
      );
    const [configAt, passwordAt] = await Promise.all([mtimeOf(paths.config), mtimeOf(paths.password)]);
    if (configAt === undefined) return undefined;
    const mtime = `${configAt}/${passwordAt ?? "-"}`;
    const cached = this.bots.get(addr);
    if (cached && cached.loadedFrom === mtime) return cached;
    // The old policy's held-back counters go to disk before the new one reads them.
    if (cached) await flushBotPolicy(cached.policy);
    const bot = await loadInstalledBot(this.deps.dataDir, addr, this.deps.config, this.deps.clock);
    if (!bot) return undefined;
    const loaded = {
      bot,
      policy: openBotPolicy(hostPaths(this.deps.dataDir).bot(addr).dir, bot.perUser, this.deps.config.ceilings.bot, this.deps.clock, { deferWrites: true }),
      loadedFrom: mtime,
    };
    this.bots.set(addr, loaded);
    return loaded;
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

  /** Write the usage counters the loaded bots hold back (POLICY_FLUSH_MS); a failure is logged and retried next time. */
  async flushPolicies(): Promise<void> {
    for (const [addr, { policy }] of this.bots) {
      await flushBotPolicy(policy).catch((error: unknown) =>
        this.deps.log({ event: "service.error", bot: addr, message: `cannot write usage counters: ${errorMessage(error)}` }),
      );
    }
  }
}
