// Promises the host hands to guest code and settles later (bot.fetch). One owner per event holds
// the resolve/reject functions of every such promise and frees those still held when the event
// ends, before the runtime is freed: a handle still alive at JS_FreeRuntime fails QuickJS's leak
// assertion, which aborts the WASM module ("Assertion failed: list_empty(&rt->gc_obj_list)").
//
// They come from the guest's own Promise.withResolvers, read before any guest code runs, not from
// ctx.newPromise(): quickjs-emscripten 0.32's newPromise reads the two function pointers through a
// view of WASM memory taken before the call, so a call that grows the memory loses them and they
// leak (quickjs-emscripten#240; the fix, #248, is unreleased).
import { UsingDisposable, type QuickJSContext, type QuickJSHandle } from "quickjs-emscripten-core";

/** What settles a guest promise: builds, inside the VM, the value to resolve with or the error to reject with. */
export type Settlement = () => { value: QuickJSHandle } | { error: QuickJSHandle };

interface Resolvers {
  resolve: QuickJSHandle;
  reject: QuickJSHandle;
}

/** The guest promises of one event that the host has not settled yet. */
export class GuestPromises extends UsingDisposable {
  private readonly open = new Set<Resolvers>();
  private readonly promiseClass: QuickJSHandle;
  private readonly withResolvers: QuickJSHandle;

  /** Call before any guest code runs, so the guest cannot have replaced Promise.withResolvers. */
  constructor(private readonly ctx: QuickJSContext) {
    super();
    this.promiseClass = ctx.getProp(ctx.global, "Promise");
    this.withResolvers = ctx.getProp(this.promiseClass, "withResolvers");
  }

  /** A new pending promise: the handle to return to the guest (the caller owns it) and its settle function. */
  create(): { promise: QuickJSHandle; settle: (settlement: Settlement) => QuickJSHandle | undefined } {
    const { ctx } = this;
    const made = ctx.callFunction(this.withResolvers, this.promiseClass);
    if (made.error) {
      made.error.dispose();
      throw new Error("could not create a promise (out of memory?)");
    }
    const handles: QuickJSHandle[] = [];
    try {
      made.value.consume((record) => ["promise", "resolve", "reject"].forEach((key) => handles.push(ctx.getProp(record, key))));
    } catch (error) {
      for (const handle of handles) handle.dispose();
      throw error;
    }
    const [promise, resolve, reject] = handles;
    const resolvers: Resolvers = { resolve: resolve!, reject: reject! };
    this.open.add(resolvers);
    return { promise: promise!, settle: (settlement) => this.settle(resolvers, settlement) };
  }

  /**
   * Settle once, as guest work (resolving reads `then` of the value, which guest code may define):
   * call inside the event's metered slice. Returns the error if the VM could not settle it.
   */
  private settle(resolvers: Resolvers, settlement: Settlement): QuickJSHandle | undefined {
    if (!this.open.has(resolvers)) return undefined;
    try {
      const outcome = settlement();
      const [fn, argument] = "value" in outcome ? [resolvers.resolve, outcome.value] : [resolvers.reject, outcome.error];
      const called = argument.consume((handle) => this.ctx.callFunction(fn, this.ctx.undefined, handle));
      if (called.error) return called.error;
      called.value.dispose();
      return undefined;
    } finally {
      this.release(resolvers);
    }
  }

  private release(resolvers: Resolvers): void {
    this.open.delete(resolvers);
    resolvers.resolve.dispose();
    resolvers.reject.dispose();
  }

  get alive(): boolean {
    return this.promiseClass.alive;
  }

  /** Free every promise's resolvers still held (its guest promise stays pending forever) and the captured functions. */
  dispose(): void {
    for (const resolvers of [...this.open]) this.release(resolvers);
    this.withResolvers.dispose();
    this.promiseClass.dispose();
  }
}
