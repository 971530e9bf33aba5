// Reading the host's log lines (logs/host.jsonl, one JSON object per line, written by `host serve`).
// Each event's fields are set where it is logged (host/service/*.ts). These helpers read them
// defensively: a line from another version of the host, or a hand-edited file, must not break a
// report, so a field of the wrong type reads as absent.
import { parseJsonObject } from "../storage/json-object.js";
import { DEFAULT_PER_USER_LIMITS } from "../../core/limits.js";

/** One parsed log line: at least an event name. */
export type LogRecord = Readonly<Record<string, unknown>> & { readonly event: string };

/** Parse one line; undefined for a blank line, invalid JSON, or an object without an event name. */
export function parseLogLine(text: string): LogRecord | undefined {
  if (text.trim() === "") return undefined;
  const value = parseJsonObject(text);
  return typeof value?.event === "string" ? (value as LogRecord) : undefined;
}

/**
 * When a line was logged, ms since epoch. `host serve` writes `at` as an ISO string; a few events
 * (bot.tick, tick.queued) carry their own numeric `at` (the tick's time, ms), which replaces it.
 */
export function lineTime(line: LogRecord): number | undefined {
  const at = line.at;
  if (typeof at === "number") return Number.isFinite(at) ? at : undefined;
  if (typeof at !== "string") return undefined;
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A string field, or undefined. */
export function stringField(line: LogRecord, key: string): string | undefined {
  const value = line[key];
  return typeof value === "string" ? value : undefined;
}

/** A finite number field, or undefined. */
export function numberField(line: LogRecord, key: string): number | undefined {
  const value = line[key];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** The bot a line is about (its `bot` field, lower case), or undefined. */
export function lineBot(line: LogRecord): string | undefined {
  return stringField(line, "bot")?.toLowerCase();
}

const PER_USER_KEYS = new Set(Object.keys(DEFAULT_PER_USER_LIMITS));

/**
 * What a `bot.refused` line read back from the log is about, as a short fixed word: the per-user
 * limit that was hit (`mailsPerHour`, …; bot-policy.ts writes "per-user limit mailsPerHour (60/60)"),
 * `consent` for /stop and /start, which the host answers itself, `report` for a /report, or `other`. Only for lines on
 * disk (`host bots`): the line carries the sentence alone, while the live event also carries it as
 * data (`refusal`, host-event.ts), which the metrics read.
 */
function refusalKind(reason: unknown): string {
  if (typeof reason !== "string") return "other";
  const limit = /^per-user limit (\w+)/.exec(reason)?.[1];
  if (limit !== undefined) return PER_USER_KEYS.has(limit) ? limit : "other";
  return reason.startsWith("consent") ? "consent" : reason.startsWith("report:") ? "report" : "other";
}

/** True for the line of a `/report` the host took (report-command.ts). */
export function isReport(reason: unknown): boolean {
  return refusalKind(reason) === "report";
}

/** True for a refusal because of a limit (not a consent command the host answered). */
export function isLimitRefusal(reason: unknown): boolean {
  const kind = refusalKind(reason);
  return kind !== "consent" && kind !== "report" && kind !== "other";
}
