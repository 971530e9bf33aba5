// A rolling window as a few time buckets: bounded memory, smooth limits, cheap JSON.
//
// Why buckets: a fixed window (reset at :00) lets a user spend a whole budget at 10:59 and again at
// 11:00 — twice the limit in two minutes, and everyone's budget refills at the same instant. An
// exact sliding log keeps one timestamp per event (unbounded for bytes and CPU). Buckets of
// `bucketMs` are the trade: at most windowMs / bucketMs + 1 numbers per window.
//
// Which way the rounding errs: an amount recorded in bucket s (covering [s·b, (s+1)·b)) counts
// until (s+1)·b + windowMs, i.e. between windowMs and windowMs + bucketMs after it was spent —
// never less. So no span of windowMs ever holds more than the limit; a user waits at most one
// bucket longer than exact. Everything here is pure: callers pass `now`.

/** The length of a window and of its buckets, ms. */
export interface WindowSpec {
  /** How long an amount counts (at least), ms. */
  windowMs: number;
  /** Granularity, ms; divides windowMs. */
  bucketMs: number;
}

/** Amounts per bucket, oldest first: [bucket index (time / bucketMs, floored), amount]. */
export type Buckets = Array<[slot: number, amount: number]>;

/** When the amounts of bucket `slot` stop counting, ms since the epoch. */
export function expiresAt(spec: WindowSpec, slot: number): number {
  return (slot + 1) * spec.bucketMs + spec.windowMs;
}

/** The buckets still counting at `now` (a new array; the input is left alone). */
export function live(buckets: Buckets, spec: WindowSpec, now: number): Buckets {
  return buckets.filter(([slot]) => expiresAt(spec, slot) > now);
}

/** New buckets: `buckets` with `amount` added at `now` and the expired ones dropped (the input is left alone). */
export function add(buckets: Buckets, spec: WindowSpec, now: number, amount: number): Buckets {
  const kept = live(buckets, spec, now);
  if (!(amount > 0)) return kept; // also NaN: a broken measurement must not poison the sums
  const slot = Math.floor(now / spec.bucketMs);
  const last = kept[kept.length - 1];
  if (last && last[0] === slot) kept[kept.length - 1] = [slot, last[1] + amount];
  else kept.push([slot, amount]);
  return kept;
}

/** The amount counting at `now`. */
export function total(buckets: Buckets, spec: WindowSpec, now: number): number {
  return live(buckets, spec, now).reduce((sum, [, amount]) => sum + amount, 0);
}

/**
 * The earliest time ≥ now at which `pending` more fits under `limit` (total + pending ≤ limit),
 * assuming nothing else is recorded; Infinity when `pending` alone exceeds the limit.
 */
export function fitsAt(buckets: Buckets, spec: WindowSpec, now: number, limit: number, pending: number): number {
  if (pending > limit) return Number.POSITIVE_INFINITY;
  const counting = live(buckets, spec, now).sort((a, b) => a[0] - b[0]);
  let used = counting.reduce((sum, [, amount]) => sum + amount, 0);
  if (used + pending <= limit) return now;
  for (const [slot, amount] of counting) {
    used -= amount;
    if (used + pending <= limit) return expiresAt(spec, slot);
  }
  return now; // unreachable: with every bucket gone, used is 0 and pending ≤ limit
}

/** Buckets of one minute over an hour: at most 61 numbers, and a limit frees up to 1 min late. */
export const HOUR_WINDOW: Readonly<WindowSpec> = Object.freeze({ windowMs: 60 * 60_000, bucketMs: 60_000 });

/** Buckets of 15 minutes over a day: at most 97 numbers, and a limit frees up to 15 min late. */
export const DAY_WINDOW: Readonly<WindowSpec> = Object.freeze({ windowMs: 24 * 60 * 60_000, bucketMs: 15 * 60_000 });
