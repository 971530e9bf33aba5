// Durations and instants as a test writes them: `advance("1h30m")`, `now: "2025-01-01T10:00:00Z"`.
import { ChatbotError } from "../../core/errors.js";
import type { Duration } from "./api.js";

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
});

// One or more "<number><unit>" parts, largest first by convention but not required: "1h30m", "90s", "1.5h".
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** A duration in ms: a number is ms already; text is parts like "2h", "90s", "1h30m", "1d", "250ms". */
export function parseDuration(duration: Duration): number {
  if (typeof duration === "number") {
    if (!Number.isFinite(duration) || duration < 0) throw bad(duration, "a number of ms must be finite and not negative");
    return duration;
  }
  const text = duration.replace(/\s+/g, "");
  if (text === "") throw bad(duration, "it is empty");
  let total = 0;
  PART.lastIndex = 0;
  let end = 0;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ""] ?? Number.NaN);
    end = PART.lastIndex;
  }
  if (end !== text.length) throw bad(duration, `"${text.slice(end)}" is not <number><unit> with unit ms, s, m, h or d`);
  // Whole ms: the clock the bot sees counts in ms ("1.5s" is 1500, "0.0001s" rounds to 0).
  return Math.round(total);
}

/** An instant in ms since the epoch: a number as is, or a date string Date.parse understands (ISO 8601). */
export function parseInstant(at: number | string): number {
  const ms = typeof at === "number" ? at : Date.parse(at);
  if (!Number.isFinite(ms))
    throw new ChatbotError(
      "E_USAGE",
      `chatbot/testing: ${JSON.stringify(at)} is not a time; use ms since the epoch or an ISO date such as "2025-01-01T10:00:00Z"`,
    );
  return ms;
}

function bad(duration: Duration, why: string): ChatbotError {
  return new ChatbotError(
    "E_USAGE",
    `chatbot/testing: duration ${JSON.stringify(duration)} is invalid (${why}); write e.g. 90000, "90s", "15m", "1h30m" or "1d"`,
  );
}
