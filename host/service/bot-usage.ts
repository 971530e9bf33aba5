// What each bot did recently, computed from log lines (pure: the caller reads the file). Used by
// `chatbot host bots`. Windows end at `nowMs` and include it; lines after it are ignored, so a
// report for a past moment (`--now`) is what the operator would have seen then.
import { isLimitRefusal, isReport, lineBot, lineTime, numberField, stringField, type LogRecord } from "./log-lines.js";

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** Counts over one window. */
export interface UsageWindow {
  /** Events the bot ran: messages (bot.event) and ticks (bot.tick). */
  events: number;
  /** Runs that did not end "ok" (bot-error, a limit, …). */
  failed: number;
  /** Guest CPU time of those runs, ms. */
  cpuMs: number;
  /** Mails the runs sent. */
  sent: number;
  /** Incoming mails dropped before the bot saw them (mail.dropped). */
  dropped: number;
  /** Events the host answered instead of the bot because a per-user limit was reached. */
  refused: number;
  /** Events put back in the spool because the bot's CPU budget was used up. */
  deferred: number;
  /** Reports about the bot (/report) that reached the operator. */
  reported: number;
}

/** The last problem seen for a bot. */
export interface LastError {
  at: string;
  event: string;
  detail: string;
}

/** One bot's usage from the log. */
export interface BotUsage {
  lastHour: UsageWindow;
  lastDay: UsageWindow;
  /** The newest bot.event or bot.tick, ISO time. */
  lastEventAt: string | null;
  /** The newest failed run, retried delivery or dead letter. */
  lastError: LastError | null;
}

/** Zero counts. */
function emptyWindow(): UsageWindow {
  return { events: 0, failed: 0, cpuMs: 0, sent: 0, dropped: 0, refused: 0, deferred: 0, reported: 0 };
}

/** A bot with nothing in the log. */
export function emptyUsage(): BotUsage {
  return { lastHour: emptyWindow(), lastDay: emptyWindow(), lastEventAt: null, lastError: null };
}

/** Add one line to a window's counts. */
function count(window: UsageWindow, line: LogRecord): void {
  switch (line.event) {
    case "bot.event":
    case "bot.tick":
      window.events += 1;
      if (stringField(line, "status") !== "ok") window.failed += 1;
      window.cpuMs += numberField(line, "cpuMs") ?? 0;
      window.sent += numberField(line, "sent") ?? 0;
      break;
    case "mail.dropped":
      window.dropped += 1;
      break;
    case "bot.refused":
      if (isLimitRefusal(line.reason)) window.refused += 1;
      if (isReport(line.reason)) window.reported += 1;
      break;
    case "bot.deferred":
      window.deferred += 1;
      break;
  }
}

/** What went wrong in a line, or undefined when nothing did. */
function problemOf(line: LogRecord): string | undefined {
  switch (line.event) {
    case "bot.event":
    case "bot.tick": {
      const status = stringField(line, "status");
      if (status === "ok") return undefined;
      const code = stringField(line, "error");
      const message = stringField(line, "message");
      return [status ?? "unknown status", code && message ? `${code}: ${message}` : (code ?? message)].filter(Boolean).join(" ");
    }
    case "spool.retry":
    case "spool.dead":
      return stringField(line, "error") ?? stringField(line, "reason") ?? "";
    default:
      return undefined;
  }
}

/** Usage per bot address (lower case) from log lines in any order, counted back from `nowMs`. */
export function usageFromLog(lines: Iterable<LogRecord>, nowMs: number): Map<string, BotUsage> {
  const usage = new Map<string, BotUsage>();
  const newest = new Map<string, { event: number; error: number }>();
  for (const line of lines) {
    const bot = lineBot(line);
    const at = lineTime(line);
    if (bot === undefined || at === undefined || at > nowMs) continue;
    let entry = usage.get(bot);
    if (!entry) usage.set(bot, (entry = emptyUsage()));
    let seen = newest.get(bot);
    if (!seen) newest.set(bot, (seen = { event: -Infinity, error: -Infinity }));
    if (at > nowMs - DAY_MS) count(entry.lastDay, line);
    if (at > nowMs - HOUR_MS) count(entry.lastHour, line);
    if ((line.event === "bot.event" || line.event === "bot.tick") && at >= seen.event) {
      seen.event = at;
      entry.lastEventAt = new Date(at).toISOString();
    }
    const problem = problemOf(line);
    if (problem !== undefined && at >= seen.error) {
      seen.error = at;
      entry.lastError = { at: new Date(at).toISOString(), event: line.event, detail: problem };
    }
  }
  return usage;
}
