// What a start-up opened, closed in reverse order on every way out — a normal stop, --once, or a
// start-up that failed half-way (like quickjs-emscripten's Scope). A service that cannot start
// must not keep a socket or a runner alive: it closes all of them and exits with the reason.

/** Stops registered as things start; `unwind` runs them last first. */
export class StopStack {
  readonly #stops: Array<{ name: string; stop: () => unknown }> = [];

  /** Register how to stop something that has just started. */
  push(name: string, stop: () => unknown): void {
    this.#stops.push({ name, stop });
  }

  /** Run every stop, last pushed first; one that throws is reported to `onError` and the rest still run. */
  async unwind(onError: (name: string, error: unknown) => void): Promise<void> {
    for (let entry = this.#stops.pop(); entry !== undefined; entry = this.#stops.pop()) {
      try {
        await entry.stop();
      } catch (error) {
        onError(entry.name, error);
      }
    }
  }
}
