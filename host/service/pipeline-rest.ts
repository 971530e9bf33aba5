// When `host serve`'s pipeline process may rest (exit until the door starts it again; issue 15
// part 5). Each part that works on its own — the drain loop, the tick scan, the deploy watcher and
// inbox, the state copies, the INBOX catch-up, the notices — answers for itself: busy (work in
// progress or waiting on a timer of its own: a retry, a per-hour count that must not be forgotten),
// or the time it must run next. The process rests after PIPELINE_REST_AFTER_MS of every part idle,
// and only when nothing is due sooner than that; the door wakes it at the earliest due time.

/** A part's answer: "busy" (do not rest), or when it must run next (ms on the clock; Infinity: nothing due). */
export type RestAnswer = "busy" | number;

/** The answers together: busy if any part is, else the earliest due time. */
export function combineRest(answers: readonly RestAnswer[]): RestAnswer {
  let next = Number.POSITIVE_INFINITY;
  for (const answer of answers) {
    if (answer === "busy") return "busy";
    next = Math.min(next, answer);
  }
  return next;
}

/** Counts quiet time: `quietFor(now, busy)` says how long every part has been idle, ms. */
export class QuietClock {
  private since: number | undefined;

  /** After a look at `now`: 0 while busy, else how long it has been quiet since the first quiet look. */
  quietFor(now: number, busy: boolean): number {
    if (busy) {
      this.since = undefined;
      return 0;
    }
    this.since ??= now;
    return now - this.since;
  }
}
