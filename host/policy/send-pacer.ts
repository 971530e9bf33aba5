// Outbound pacing of one bot account. The relay limits each sender with a GCRA, 60 mails per
// minute with a burst of 10 (PROTOCOL §1), and answers `450 4.7.1 Too much mail` beyond it; the
// pacer runs the same algorithm with our lower numbers (core/limits.ts DEFAULT_SEND_PACING), so
// mail leaves just slowly enough never to meet that answer.
//
// GCRA (virtual scheduling): a mail every T = 60 000 / sendsPerMinute ms, with a tolerance of
// τ = (sendBurst − 1)·T; `tat` is the theoretical arrival time of the next mail. A mail may go at
// t ≥ tat − τ, and moves tat to max(t, tat) + T. Pure: reserve() says how long to wait and the
// shell sleeps (`paced`, with an injected sleep). Kept in memory: after a restart the bucket is
// full while the relay may still remember our last burst; the spare burst slots cover that.
import { DEFAULT_SEND_PACING, type SendPacing } from "../../core/limits.js";
import type { Clock } from "../../core/clock.js";

/** The pacing of one bot account's outgoing mail. */
export class SendPacer {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private tat = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly pacing: Readonly<SendPacing> = DEFAULT_SEND_PACING,
  ) {
    if (!(pacing.sendsPerMinute > 0) || !Number.isInteger(pacing.sendBurst) || pacing.sendBurst < 1) {
      throw new RangeError(`send pacing needs sendsPerMinute > 0 and an integer sendBurst ≥ 1, got ${JSON.stringify(pacing)}`);
    }
    this.intervalMs = 60_000 / pacing.sendsPerMinute;
    this.toleranceMs = (pacing.sendBurst - 1) * this.intervalMs;
  }

  /**
   * Book `count` mails that will go together: the ms to wait before sending them (0: now). The
   * booking holds, so call it once per send and then send after the wait. More than sendBurst at
   * once can never conform: book them one by one.
   */
  reserve(count = 1): number {
    if (!Number.isInteger(count) || count < 1 || count > this.pacing.sendBurst) {
      throw new RangeError(`can reserve 1 to ${this.pacing.sendBurst} mails at once, not ${count}`);
    }
    const now = this.clock.now();
    const base = Math.max(this.tat, now);
    // The last of the `count` mails is the one that must conform: base + (count − 1)·T − τ.
    const sendAt = Math.max(now, base + (count - 1) * this.intervalMs - this.toleranceMs);
    this.tat = base + count * this.intervalMs;
    return sendAt - now;
  }

  /** The bucket is full again (tat passed: the whole burst may go now): a new pacer would answer the same. */
  idle(): boolean {
    return this.tat <= this.clock.now();
  }
}

/** Send through the pacer: reserve a slot, sleep (injected) until it, then send. */
export async function paced<T>(pacer: SendPacer, sleep: (ms: number) => Promise<void>, send: () => Promise<T>): Promise<T> {
  const waitMs = pacer.reserve();
  if (waitMs > 0) await sleep(waitMs);
  return send();
}
