// The fake clock of a test bot: the time `bot.now()` starts from and ticks are due at.
import type { TestClock } from "./api.js";
import { parseDuration, parseInstant } from "./duration.js";

/** The clock the test kit starts from unless told otherwise: a fixed, ordinary working hour (UTC). */
const DEFAULT_TEST_NOW = "2025-01-01T10:00:00Z";

/** A clock that moves only when the test moves it. `advance` here runs no ticks (TestBot.advance does). */
export function createTestClock(start: number | string = DEFAULT_TEST_NOW): TestClock {
  let nowMs = parseInstant(start);
  return {
    now: () => nowMs,
    advance: (by) => {
      nowMs += parseDuration(by);
    },
    set: (at) => {
      nowMs = parseInstant(at);
    },
  };
}
