// A clock the test moves by hand (STYLE principle 6): policy tests never sleep.
import type { Clock } from "../../core/clock.js";

/** A Clock at a fixed time until the test moves it. */
export class FakeClock implements Clock {
  constructor(private ms: number) {}

  /** The current fake time, ms since the epoch. */
  now(): number {
    return this.ms;
  }

  /** Move forward by `ms`. */
  advance(ms: number): void {
    this.ms += ms;
  }

  /** Jump to `ms` since the epoch. */
  set(ms: number): void {
    this.ms = ms;
  }
}

/** 2025-01-01 10:00:00 UTC, a full hour: the tests' start time. */
export const T0 = Date.UTC(2025, 0, 1, 10, 0, 0);
/** One minute, ms. */
export const MINUTE = 60_000;
/** One hour, ms. */
export const HOUR = 60 * MINUTE;
/** One day, ms. */
export const DAY = 24 * HOUR;
