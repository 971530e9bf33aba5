// Time is injected (STYLE principle 6): policy reads the clock it is given, so tests move a fake
// clock instead of sleeping.

/** A source of the current time in milliseconds since the epoch. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The real clock, for the CLI entry to pass down. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
