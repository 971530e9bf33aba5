// Hourly and daily ticks: a due tick is queued in the spool like a mail, and the drain runs it like
// one (entry-pipeline.ts tells the two apart by the tick secret). Each bot's last queued tick is
// noted in <bot>/ticks.json after its entry is written, so a crash in between queues it twice at
// worst, and the second one does not run (its seen mark, handle-mail.ts planTick).
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isPaused } from "./author-controls.js";
import { nextTick, tickOffsetMs } from "../policy/schedule.js";
import type { Spool } from "../spool/spool.js";
import { readJsonFile, writeJsonFile, writePrivateFile } from "../storage/json-file.js";
import type { BotRegistry } from "./bot-registry.js";
import type { HostLog } from "./host-event.js";
import { hostPaths } from "./paths.js";
import { readBotSettings } from "./bot-settings.js";
import { TICK_SCAN_MS } from "../../core/limits.js";
import type { Clock } from "../../core/clock.js";

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

/** What the scheduler reads and writes. */
export interface TickSchedulerDeps {
  dataDir: string;
  spool: Spool;
  registry: Pick<BotRegistry, "addrs">;
  clock: Clock;
  log: HostLog;
}

/** One bot's tick facts, with the stamp of the files they were read from. */
interface BotTicks {
  stamp: string;
  enabled: boolean;
  installedAt: number;
  schedule: "hourly" | "daily" | undefined;
  /** Its last queued tick (null: none yet; undefined: ticks.json not read yet), ms. */
  lastTickAt: number | null | undefined;
}

/** A file's mtime and size ("-" when it does not exist): a cheap sign that it changed. */
function fileStamp(file: string): string {
  const stat = statSync(file, { throwIfNoEntry: false });
  return stat ? `${stat.mtimeMs}/${stat.size}` : "-";
}

/** Queues the bots' due ticks and recognises queued ones. */
export class TickScheduler {
  private secret: Promise<string> | undefined;
  /** When the last scan ran, ms on the clock. */
  private lastScanAt: number | undefined;
  /** Per bot: what its files said at the last scan (botTicks), kept in tick-index.json across starts. */
  private readonly known = new Map<string, BotTicks>();
  private indexLoaded = false;
  #scans = 0;
  /** Something in `known` changed during the current scan: the index is written at its end. */
  private indexChanged = false;

  constructor(private readonly deps: TickSchedulerDeps) {}

  /** Scans done so far (queueDueTicks): the drain loop counts a scan as work. */
  get scans(): number {
    return this.#scans;
  }

  /** The host's tick secret (loadTickSecret), read once. */
  tickSecret(): Promise<string> {
    this.secret ??= loadTickSecret(this.deps.dataDir);
    return this.secret;
  }

  /** The tick time of a spool entry's content, or undefined for a mail. */
  async tickTimeOf(raw: Uint8Array): Promise<number | undefined> {
    return tickTime(raw, await this.tickSecret());
  }

  /**
   * Queue the ticks that are due (hourly/daily bots); missed ticks after downtime are queued once.
   * A bot costs two stats per scan (bot.json and its manifest): what it says is read and kept only
   * when those changed (an install, an upgrade, enable or disable), its last tick once, and the bot
   * itself (bundle, keys) is never loaded here, so an idle bot costs neither memory nor reads.
   */
  async queueDueTicks(): Promise<number> {
    this.lastScanAt = this.deps.clock.now();
    this.#scans += 1;
    if (!this.indexLoaded) await this.loadIndex();
    this.indexChanged = false;
    let queued = 0;
    const addrs = await this.deps.registry.addrs();
    const present = new Set(addrs);
    for (const addr of this.known.keys()) {
      if (present.has(addr)) continue;
      this.known.delete(addr);
      this.indexChanged = true;
    }
    for (const addr of addrs) {
      const known = await this.botTicks(addr);
      if (!known?.enabled || known.schedule === undefined) continue;
      if (isPaused(this.deps.dataDir, addr)) continue; // the author paused it: no ticks either
      const file = join(hostPaths(this.deps.dataDir).bot(addr).dir, "ticks.json");
      if (known.lastTickAt === undefined) {
        known.lastTickAt = (await readJsonFile<{ lastTickAt?: number }>(file, {})).lastTickAt ?? null;
        this.indexChanged = true;
      }
      // A new bot starts counting from its installation, not from the epoch.
      const plan = nextTick(known.schedule, known.lastTickAt ?? known.installedAt, this.deps.clock.now(), tickOffsetMs(addr, known.schedule));
      if (!plan.due) continue;
      await this.deps.spool.write(addr, tickEntry(await this.tickSecret(), plan.at), 1024);
      await writeJsonFile(file, { lastTickAt: plan.at });
      known.lastTickAt = plan.at;
      this.indexChanged = true;
      this.deps.log({ event: "tick.queued", bot: addr, at: plan.at });
      queued += 1;
    }
    if (this.indexChanged) await writeJsonFile(hostPaths(this.deps.dataDir).tickIndex, Object.fromEntries(this.known));
    return queued;
  }

  /** Take what a scan before this start knew (each entry is still checked against its files' stamps). */
  private async loadIndex(): Promise<void> {
    this.indexLoaded = true;
    const index = await readJsonFile<Record<string, Partial<BotTicks>>>(hostPaths(this.deps.dataDir).tickIndex, {}).catch(() => ({}));
    for (const [addr, entry] of Object.entries(index ?? {})) {
      if (typeof entry?.stamp !== "string" || typeof entry.enabled !== "boolean" || typeof entry.installedAt !== "number") continue;
      const schedule = entry.schedule === "hourly" || entry.schedule === "daily" ? entry.schedule : undefined;
      const lastTickAt = typeof entry.lastTickAt === "number" || entry.lastTickAt === null ? entry.lastTickAt : undefined;
      this.known.set(addr, { stamp: entry.stamp, enabled: entry.enabled, installedAt: entry.installedAt, schedule, lastTickAt });
    }
  }

  /** What `addr`'s files say about its ticks, read again only when bot.json or the manifest changed; undefined for no bot. */
  private async botTicks(addr: string): Promise<BotTicks | undefined> {
    const paths = hostPaths(this.deps.dataDir).bot(addr);
    const stamp = `${fileStamp(paths.config)}|${fileStamp(join(paths.current, "chatbot.json"))}`;
    const cached = this.known.get(addr);
    if (cached?.stamp === stamp) return cached;
    const settings = await readBotSettings(paths.config).catch(() => undefined);
    if (!settings) {
      if (this.known.delete(addr)) this.indexChanged = true;
      return undefined;
    }
    const known: BotTicks = {
      stamp,
      enabled: settings.enabled,
      installedAt: settings.installedAt,
      schedule: await manifestSchedule(paths.current),
      lastTickAt: cached?.lastTickAt,
    };
    this.known.set(addr, known);
    this.indexChanged = true;
    return known;
  }

  /**
   * When the next tick of any bot known from the last scan is due, ms (Infinity: none; paused and
   * disabled bots have none). For the pipeline's rest, right after a scan (queueDueTicks).
   */
  nextDueAt(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const [addr, known] of this.known) {
      if (!known.enabled || known.schedule === undefined || known.lastTickAt === undefined) continue;
      if (isPaused(this.deps.dataDir, addr)) continue;
      const plan = nextTick(known.schedule, known.lastTickAt ?? known.installedAt, now, tickOffsetMs(addr, known.schedule));
      next = Math.min(next, plan.due ? now : plan.next);
    }
    return next;
  }

  /**
   * queueDueTicks, at most once per TICK_SCAN_MS on the clock (the drain loop's call: it runs every
   * second, and a scan reads every bot's files). A tick is then at most that late.
   */
  async queueDueTicksThrottled(): Promise<number> {
    if (this.lastScanAt !== undefined && this.deps.clock.now() - this.lastScanAt < TICK_SCAN_MS) return 0;
    return this.queueDueTicks();
  }
}

/** The schedule in the installed manifest (current/chatbot.json, checked at install), or undefined for none. */
async function manifestSchedule(current: string): Promise<"hourly" | "daily" | undefined> {
  const manifest = await readJsonFile<{ schedule?: unknown }>(join(current, "chatbot.json"), {}).catch(() => ({}) as { schedule?: unknown });
  return manifest.schedule === "hourly" || manifest.schedule === "daily" ? manifest.schedule : undefined;
}
