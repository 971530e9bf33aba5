// Reading "in how long" and writing times. Durations only ("2h", "30m", "1d", "1h30m", "1h 30m",
// "2 hours", "1w"): a duration means the same for everyone, while "tomorrow at 9" would need the
// user's time zone, which a Delta Chat message does not carry. Times are shown in UTC, saying so.

const MINUTE_MS = 60_000;
const UNIT_MS: Readonly<Record<string, number>> = {
  m: MINUTE_MS,
  h: 60 * MINUTE_MS,
  d: 24 * 60 * MINUTE_MS,
  w: 7 * 24 * 60 * MINUTE_MS,
};

/** One "<number><unit>" with optional spaces; units as letters or words ("min", "hours", "days"). */
const PART = /^\s*(\d{1,6})\s*(m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?)(?![a-z])/i;

/** A duration at the start of `text` and the rest after it, or undefined when it starts with none. */
export function parseLeadingDuration(text: string): { ms: number; rest: string } | undefined {
  let rest = text.replace(/^\s*in\s+/i, "");
  let ms = 0;
  let parts = 0;
  for (let match = PART.exec(rest); match !== null; match = PART.exec(rest)) {
    const unit = (match[2] ?? "").toLowerCase()[0] ?? "";
    ms += Number(match[1]) * (UNIT_MS[unit] ?? 0);
    rest = rest.slice(match[0].length);
    parts++;
  }
  return parts === 0 ? undefined : { ms, rest: rest.trim() };
}

/** A duration for people: "1 h 30 min", "2 d", "45 min". */
export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / MINUTE_MS);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  const parts = [d ? `${d} d` : "", h ? `${h} h` : "", m ? `${m} min` : ""].filter(Boolean);
  return parts.length ? parts.join(" ") : "0 min";
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number): string => String(n).padStart(2, "0");

/** "14:30 UTC" when `at` is on the same UTC day as `now`, else "Thu 2 Jan 14:30 UTC" (with the year if it differs). */
export function formatUtc(at: number, now: number): string {
  const date = new Date(at);
  const today = new Date(now);
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
  if (date.toISOString().slice(0, 10) === today.toISOString().slice(0, 10)) return time;
  const year = date.getUTCFullYear() === today.getUTCFullYear() ? "" : ` ${date.getUTCFullYear()}`;
  return `${WEEKDAYS[date.getUTCDay()]} ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]}${year} ${time}`;
}
