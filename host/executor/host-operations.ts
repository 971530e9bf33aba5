// The host operations a guest is waiting for (bot.fetch): each is a guest promise the host settles
// when the operation finishes. Settling runs as the guest's metered work and only while the event
// runs; what goes wrong while settling (outside the driver's stack) is kept for the driver.
import { UsingDisposable, type QuickJSContext, type QuickJSHandle } from "quickjs-emscripten-core";
import type { GuestPromises, Settlement } from "./guest-promises.js";
import { newGuestRefusal } from "./guest-refusal.js";
import type { SandboxFault } from "./isolate-meter.js";

/** Runs guest work metered (IsolateMeter.slice). */
type Slice = <T>(fn: () => T) => T;

/** The in-flight host operations of one event; dispose when the event is over (before its context). */
export class HostOperations extends UsingDisposable {
  private readonly inflight = new Set<Promise<void>>();
  // Set when the event is over: an operation that finishes later must not touch the VM.
  private ended = false;
  // A host exception, or the VM's error, while a finished operation was settled.
  private fault: SandboxFault | undefined;
  private error: QuickJSHandle | undefined;
  private disposed = false;

  constructor(
    private readonly ctx: QuickJSContext,
    private readonly promises: GuestPromises,
    private readonly slice: Slice,
  ) {
    super();
  }

  /** A guest promise for `operation` (the caller returns the handle to the guest); settled as metered guest work. */
  start(operation: Promise<Settlement>): QuickJSHandle {
    const { promise, settle } = this.promises.create();
    const deliver = (settlement: Settlement) => {
      if (this.ended) return;
      try {
        const error = this.slice(() => settle(settlement));
        if (error && this.error) error.dispose();
        else if (error) this.error = error;
      } catch (fault) {
        // slice() throws only SandboxFault; the driver rethrows it when it wakes up.
        this.fault ??= fault as SandboxFault;
      }
    };
    const settled = operation
      .then(deliver, (error: unknown) => deliver(() => ({ error: newGuestRefusal(this.ctx, { code: "E_HOST", message: String(error).slice(0, 200) }) })))
      .finally(() => this.inflight.delete(settled));
    this.inflight.add(settled);
    return promise;
  }

  /** Whether any operation is still in flight. */
  get pending(): boolean {
    return this.inflight.size > 0;
  }

  /** Wait until one operation finishes or `timeoutMs` pass; true when the time ran out. */
  async waitForOne(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.race(this.inflight).then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    return timedOut;
  }

  /** Throw the SandboxFault raised while settling, if any. */
  throwFault(): void {
    if (this.fault) throw this.fault;
  }

  /** The VM's error from settling an operation, if any; the caller owns it from now on. */
  takeError(): QuickJSHandle | undefined {
    const error = this.error;
    this.error = undefined;
    return error;
  }

  /** The event is over: operations that finish from now on are dropped. */
  end(): void {
    this.ended = true;
  }

  get alive(): boolean {
    return !this.disposed;
  }

  /** End, and free the VM error still held. */
  dispose(): void {
    this.disposed = true;
    this.ended = true;
    if (this.error?.alive) this.error.dispose();
    this.error = undefined;
  }
}
