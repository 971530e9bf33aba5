// Replay after eviction (issue 9): the seen store forgets the oldest Message-IDs beyond
// SEEN_MAX_IDS, so a captured, validly signed old mail would run the bot again once its id is gone.
// The store says since when its memory is complete (completeSince: the newest recorded-at time of
// any id it forgot). A mail handled before was recorded at or after the moment it was verified,
// and openpgp.js refuses a signature made after that moment (by its clock), so a forgotten mail
// was signed at or before completeSince. Refusing everything signed up to completeSince + skew
// therefore refuses every forgotten mail, whoever replays it. The skew is added, not subtracted:
// subtracting it (to be kind to senders whose clocks run slow) would let through the forgotten
// mails of the last `skew` before the horizon. What a fresh mail risks instead is small: it is
// refused only when it was signed that long before the store's horizon, and the horizon of a bot
// with SEEN_MAX_IDS ids trails the present by days for any ordinary bot.
// Pure: callers pass the times.
import { SEEN_CLOCK_SKEW_MS } from "../../core/limits.js";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Why an event dated `signedAt` (ms since the epoch; the signature's creation time, else the
 * protected Date) may be a replay of one the store forgot, or undefined when the duplicate check
 * alone decides: the store has forgotten nothing, or the date is after its horizon + `skewMs`.
 * An event with no date is refused once the store has forgotten anything.
 */
export function replayRefusal(signedAt: number | undefined, completeSince: number | undefined, skewMs: number = SEEN_CLOCK_SKEW_MS): string | undefined {
  if (completeSince === undefined) return undefined;
  const horizon = `the bot remembers every handled Message-ID only since ${iso(completeSince)}`;
  if (signedAt === undefined || !Number.isFinite(signedAt)) return `possible replay: no signed date, and ${horizon}`;
  if (signedAt <= completeSince + skewMs) return `possible replay: dated ${iso(signedAt)}, and ${horizon} (+ ${Math.round(skewMs / 60_000)} min clock skew)`;
  return undefined;
}
