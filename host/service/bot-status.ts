import { join } from "node:path";
import type { Manifest } from "../../core/manifest.js";
import { LOG_TAIL_BYTES } from "../../core/limits.js";
import { Spool } from "../spool/spool.js";
import { readJsonFile } from "../storage/json-file.js";
import { emptyUsage, usageFromLog, type BotUsage } from "./bot-usage.js";
import type { HostConfig } from "./host-config.js";
import { readBundleFolder, type BotSettings } from "./installed-bots.js";
import { readLogTail } from "./log-file.js";
import { parseLogLine, lineTime, type LogRecord } from "./log-lines.js";
import { hostPaths, installedBotAddresses } from "./paths.js";
import type { PausedRecord } from "./author-controls.js";
import type { AccountCheck } from "./deploy-watcher.js";
import { errorMessage } from "../../core/errors.js";

/** An origin the bot asks for or was approved for, and who approved it. */
export interface OriginStatus {
  origin: string;
  /** The installed manifest asks for it (an approval of an origin not asked for has no effect). */
  requested: boolean;
  /** "bot": in bot.json; "global": in host.json; null: waiting for the operator. */
  approved: "bot" | "global" | null;
}

/** One installed bot as the operator sees it. */
export interface BotStatus {
  address: string;
  /** The name people see (bot.json). */
  name: string;
  enabled: boolean;
  /** Why the operator disabled it, when they said (`host bots disable --reason`). */
  disabledReason: string | null;
  /** When its author paused it (`chatbot deploy --pause`: its mail goes to its mailbox), null when not paused. */
  pausedAt: string | null;
  installedAt: string | null;
  /** From the installed manifest; null when it cannot be read (see `problem`). */
  manifestName: string | null;
  version: string | null;
  author: { name: string; contact: string } | null;
  schedule: string | null;
  /** Why the service cannot load this bot (e.g. the manifest exceeds this host's ceilings), or null. */
  problem: string | null;
  origins: OriginStatus[];
  usage: BotUsage;
  /**
   * The bot's mail in the spool: waiting, given up (spool/dead), and the reason of the dead letter
   * received last (`[CODE] after N attempts: …`, failure-class.ts), null when there is none.
   */
  spool: { waiting: number; dead: number; lastDeadReason: string | null };
  /** The host's IMAP logins as the bot (deploy-watcher.ts): chatmail deletes an account after 90 days without one. */
  account: { lastLoginAt: string | null; lastCheckAt: string | null };
}

/** The whole report. */
export interface HostStatus {
  now: string;
  /** Which part of the log the usage counts come from. */
  log: { file: string; from: string | null; complete: boolean };
  spool: { waiting: number; dead: number };
  bots: BotStatus[];
}

/** The origins a bot asks for and has approved, each with its state. */
function originStatuses(requested: readonly string[], botApproved: readonly string[], globalApproved: readonly string[]): OriginStatus[] {
  const all = [...new Set([...requested, ...botApproved])];
  return all.map((origin) => ({
    origin,
    requested: requested.includes(origin),
    approved: botApproved.includes(origin) ? "bot" : globalApproved.includes(origin) ? "global" : null,
  }));
}

/** Read the log tail: its records and where they start. */
async function readRecords(file: string, maxBytes: number): Promise<{ records: LogRecord[]; from: string | null; complete: boolean }> {
  const tail = await readLogTail(file, maxBytes);
  const records = tail.lines.map(parseLogLine).filter((line): line is LogRecord => line !== undefined);
  const first = records.map(lineTime).find((at) => at !== undefined);
  return { records, from: first === undefined ? null : new Date(first).toISOString(), complete: tail.from === 0 };
}

/** Collect the report for every installed bot, counting usage back from `nowMs`. */
export async function readHostStatus(
  dataDir: string,
  config: Pick<HostConfig, "ceilings" | "approvedOrigins">,
  nowMs: number,
  logTailBytes: number = LOG_TAIL_BYTES,
): Promise<HostStatus> {
  const paths = hostPaths(dataDir);
  const spool = new Spool(paths.spool, { now: () => nowMs });
  const [addresses, log, waiting, dead] = await Promise.all([
    installedBotAddresses(dataDir),
    readRecords(paths.logFile, logTailBytes),
    spool.all(),
    spool.deadLetters(),
  ]);
  const usage = usageFromLog(log.records, nowMs);
  const perBot = (list: ReadonlyArray<{ recipient: string }>, addr: string) => list.filter((entry) => entry.recipient === addr).length;
  const bots: BotStatus[] = [];
  for (const address of addresses) {
    const bot = paths.bot(address);
    const settings = await readJsonFile<Partial<BotSettings>>(bot.config, {});
    const logins = await readJsonFile<AccountCheck>(join(bot.dir, "account.json"), {}).catch(() => ({}) as AccountCheck);
    const paused = await readJsonFile<Partial<PausedRecord> | undefined>(bot.paused, undefined).catch(() => ({}) as Partial<PausedRecord>);
    const iso = (ms: number | undefined) => (typeof ms === "number" ? new Date(ms).toISOString() : null);
    const approved = Array.isArray(settings.approvedOrigins) ? settings.approvedOrigins : [];
    let manifest: Manifest | undefined;
    let problem: string | null = null;
    try {
      ({ manifest } = await readBundleFolder(bot.current, config));
    } catch (error) {
      problem = errorMessage(error);
    }
    bots.push({
      address,
      name: settings.name ?? manifest?.name ?? address,
      enabled: settings.enabled === true, // as the service reads it
      disabledReason: settings.enabled !== true && typeof settings.disabledReason === "string" ? settings.disabledReason : null,
      pausedAt: paused === undefined ? null : (iso(paused.at) ?? "unknown"),
      installedAt: typeof settings.installedAt === "number" ? new Date(settings.installedAt).toISOString() : null,
      manifestName: manifest?.name ?? null,
      version: manifest?.version ?? null,
      author: manifest ? { name: manifest.author.name, contact: manifest.author.contact } : null,
      schedule: manifest?.schedule ?? null,
      problem,
      origins: originStatuses(manifest?.origins ?? [], approved, config.approvedOrigins),
      usage: usage.get(address) ?? emptyUsage(),
      spool: {
        waiting: perBot(waiting, address),
        dead: perBot(dead, address),
        lastDeadReason: dead.filter((entry) => entry.recipient === address).at(-1)?.reason ?? null,
      },
      account: { lastLoginAt: iso(logins.lastLoginAt), lastCheckAt: iso(logins.lastCheckAt) },
    });
  }
  return {
    now: new Date(nowMs).toISOString(),
    log: { file: paths.logFile, from: log.from, complete: log.complete },
    spool: { waiting: waiting.length, dead: dead.length },
    bots,
  };
}
