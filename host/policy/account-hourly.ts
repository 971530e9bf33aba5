// An in-memory count per account over a rolling hour (rolling-window.ts buckets), for what one
// account can make `host serve` do by appending mail: deploys handled, notices sent. In memory on
// purpose: a restart forgets it, which at worst grants one more hour's worth. `host serve`'s
// pipeline process does not rest (exit when idle) while a count is live (`liveUntil`), so its rests
// forget nothing.
import { add, total, type Buckets, type WindowSpec } from "./rolling-window.js";

const HOUR: WindowSpec = { windowMs: 60 * 60 * 1000, bucketMs: 5 * 60 * 1000 };

export class AccountHourly {
  private readonly counts = new Map<string, Buckets>();
  /** Accounts told they are over, this hour (so an over-eager one cannot flood the log either). */
  private readonly over = new Map<string, number>();
  /** When the latest count or over-mark falls out of the window, ms (0: never counted). */
  #liveUntil = 0;

  constructor(private readonly limit: number) {}

  /** Count one for `account` at `now`: true when it is within the limit, false when over (not counted). */
  take(account: string, now: number): boolean {
    const buckets = this.counts.get(account) ?? [];
    if (total(buckets, HOUR, now) >= this.limit) return false;
    this.counts.set(account, add(buckets, HOUR, now, 1));
    this.#liveUntil = Math.max(this.#liveUntil, now + HOUR.windowMs);
    return true;
  }

  /** True the first time in an hour that `account` is over: the one time to log it. */
  firstOver(account: string, now: number): boolean {
    const since = this.over.get(account);
    if (since !== undefined && now - since < HOUR.windowMs) return false;
    this.over.set(account, now);
    this.#liveUntil = Math.max(this.#liveUntil, now + HOUR.windowMs);
    return true;
  }

  /** Until when (ms) something counted here still counts: forgetting the counts before then would grant more. */
  get liveUntil(): number {
    return this.#liveUntil;
  }
}
