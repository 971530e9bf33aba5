// Sparse schedule ticks (DESIGN §2, manifest `schedule`): when a bot's `tick` handler is due.
//
// Slots: hourly ticks fall on the full hour (UTC) and daily ticks at 00:00 UTC, each moved by a
// per-bot offset: tickOffsetMs(addr, schedule) derives it from a hash of the bot's address, so it
// is stable across restarts and hosts, yet a relay's bots spread over the hour (or day) instead of
// all waking at :00 — operators prefer a flat load. Pass offset 0 for exact :00.
//
// Downtime: only the latest missed slot runs, once. A bot that was down for five hours gets one
// tick, not five in a row: a tick means "it is time to look around", not "an hour passed".
import { createHash } from "node:crypto";

/** How often a bot's tick handler runs. */
export type Schedule = "none" | "hourly" | "daily";

/** When the next tick is due. */
export interface TickPlan {
  /** True when a slot has passed since the last tick: run one now. */
  due: boolean;
  /** The slot to run: the latest one ≤ now (missed earlier slots are folded into it); Infinity for "none". */
  at: number;
  /** The slot after `at`, when to look again, ms since the epoch; Infinity for "none". */
  next: number;
}

const PERIOD_MS: Readonly<Record<Exclude<Schedule, "none">, number>> = Object.freeze({
  hourly: 60 * 60 * 1000,
  daily: 24 * 60 * 60 * 1000,
});

/**
 * The tick plan at `now` for a bot that last ticked at `lastTickAt` (the `at` it ran, or any time
 * after it; undefined if never — then the latest slot is due at once, so a new bot ticks on start;
 * pass its install time instead to wait for the next slot). `offsetMs` moves every slot later.
 */
export function nextTick(schedule: Schedule, lastTickAt: number | undefined, now: number, offsetMs = 0): TickPlan {
  if (schedule === "none") return { due: false, at: Number.POSITIVE_INFINITY, next: Number.POSITIVE_INFINITY };
  const period = PERIOD_MS[schedule];
  const offset = ((offsetMs % period) + period) % period;
  const at = Math.floor((now - offset) / period) * period + offset;
  return { due: lastTickAt === undefined || lastTickAt < at, at, next: at + period };
}

/** The stable offset of a bot's slots: whole seconds within the period, from SHA-256 of the lower-cased address; 0 for "none". */
export function tickOffsetMs(addr: string, schedule: Schedule): number {
  if (schedule === "none") return 0;
  const digest = createHash("sha256").update(addr.trim().toLowerCase()).digest();
  return (digest.readUInt32BE(0) % (PERIOD_MS[schedule] / 1000)) * 1000;
}
