// The state IO of one bot (issue 4 item 5): bytes and saves of bot.state over a sliding second,
// against core/limits.ts StateIoLimits (the seed's 1 MB/s and 100 IOPS).
//
// Like the CPU budget, the size of an event's state is known only after the bot ran, so the check
// comes before the run and the count after it: an event is admitted while the bytes written in the
// last second are at most stateWriteBytesPerSecond (it may overshoot by one event's state, at most
// stateBytes) and while one more save keeps the saves at most stateWriteOpsPerSecond. Over either,
// the service leaves the mail in the spool until `resumesAt`. In memory: a second is short, and a
// restart costs at most one second's worth of extra writes.
import { DEFAULT_STATE_IO_LIMITS, type StateIoLimits } from "../../core/limits.js";
import type { Clock } from "../../core/clock.js";

/** How long a write counts, ms. */
const STATE_IO_WINDOW_MS = 1000;

/** The answer of StateIo.check. */
export type StateIoVerdict = { allowed: true } | { allowed: false; resumesAt: number; limit: keyof StateIoLimits };

/** One bot's recent state writes. */
export class StateIo {
  /** Writes still counting, oldest first. */
  private writes: Array<{ at: number; bytes: number }> = [];

  constructor(
    private readonly clock: Clock,
    private readonly limits: Readonly<StateIoLimits> = DEFAULT_STATE_IO_LIMITS,
  ) {}

  private live(now: number): Array<{ at: number; bytes: number }> {
    this.writes = this.writes.filter((w) => w.at + STATE_IO_WINDOW_MS > now);
    return this.writes;
  }

  /** May the bot's next event write its state now? */
  check(): StateIoVerdict {
    const now = this.clock.now();
    const live = this.live(now);
    const { stateWriteOpsPerSecond: maxOps, stateWriteBytesPerSecond: maxBytes } = this.limits;
    let worst: { resumesAt: number; limit: keyof StateIoLimits } | undefined;
    if (live.length + 1 > maxOps) {
      // Enough of the oldest must leave that one more fits; with a limit of 0 it never does: look again in a second.
      const oldest = live[live.length - maxOps];
      const resumesAt = maxOps > 0 && oldest ? oldest.at + STATE_IO_WINDOW_MS : now + STATE_IO_WINDOW_MS;
      worst = { resumesAt, limit: "stateWriteOpsPerSecond" };
    }
    let bytes = live.reduce((sum, w) => sum + w.bytes, 0);
    if (bytes > maxBytes) {
      let resumesAt = now + STATE_IO_WINDOW_MS;
      for (const w of live) {
        bytes -= w.bytes;
        if (bytes <= maxBytes) {
          resumesAt = w.at + STATE_IO_WINDOW_MS;
          break;
        }
      }
      if (!worst || resumesAt > worst.resumesAt) worst = { resumesAt, limit: "stateWriteBytesPerSecond" };
    }
    return worst ? { allowed: false, ...worst } : { allowed: true };
  }

  /** No save counts any more: a new StateIo would answer the same (the registry drops this one). */
  idle(): boolean {
    return this.live(this.clock.now()).length === 0;
  }

  /** Count one state save of `bytes`. */
  record(bytes: number): void {
    this.live(this.clock.now()).push({ at: this.clock.now(), bytes: Number.isFinite(bytes) && bytes > 0 ? bytes : 0 });
  }
}
