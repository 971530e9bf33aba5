// The policy stores read a JSON file, change it and write it back. Two overlapping calls on one
// object (serve runs `concurrency` events at once) would lose one update, so each store runs its
// read-modify-write steps one after another through a Serial.

/** Runs async steps one at a time, in call order. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  /** Run `step` after every step queued before it; its result or error is the caller's. */
  run<T>(step: () => Promise<T>): Promise<T> {
    const result = this.tail.then(step, step);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
