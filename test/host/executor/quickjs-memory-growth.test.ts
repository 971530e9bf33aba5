// quickjs-emscripten 0.32 reads some results of a call through views of WASM memory taken before
// the call (quickjs-emscripten#240; the fix, #248, is unreleased). When the call grows the memory
// the views are detached. Minimal reproductions of the two sites the sandbox used, and proof that
// its replacements (job-context.ts, guest-promises.ts) hold. If an upgrade fixes the library, the
// "upstream" tests fail: then the workarounds can go.
import { describe, expect, it } from "vitest";
import type { QuickJSContext, QuickJSRuntime } from "quickjs-emscripten-core";
import { GuestPromises } from "../../../host/executor/guest-promises.js";
import { pinJobContext } from "../../../host/executor/job-context.js";
import { compileQuickJSWasm, createModuleSlot, type ModuleSlot } from "../../../host/executor/module-slot.js";

const MiB = 1024 * 1024;
const wasm = compileQuickJSWasm();

async function fresh(): Promise<{ slot: ModuleSlot; runtime: QuickJSRuntime; ctx: QuickJSContext }> {
  const slot = await createModuleSlot(wasm, 64 * MiB);
  const runtime = slot.module.newRuntime();
  return { slot, runtime, ctx: runtime.newContext() };
}

/** A job that grows the WASM memory: a large allocation in a promise callback. */
const GROWING_JOB = `globalThis.done = Promise.resolve().then(() => new Array(2_000_000).fill(1).length)`;

/** Free everything; true when JS_FreeRuntime found nothing left behind (else it aborts the module). */
function freesCleanly(runtime: QuickJSRuntime, ctx: QuickJSContext): boolean {
  ctx.dispose();
  try {
    runtime.dispose();
    return true;
  } catch {
    return false;
  }
}

describe("quickjs-emscripten#240: WASM memory growth during a call", () => {
  it("upstream: executePendingJobs wraps a lost context pointer in a stray context, and the runtime cannot be freed", async () => {
    const { runtime, ctx } = await fresh();
    ctx.unwrapResult(ctx.evalCode(GROWING_JOB)).dispose();
    const jobs = runtime.executePendingJobs();
    expect(jobs.error).toBeUndefined();
    expect(freesCleanly(runtime, ctx)).toBe(false);
  });

  it("pinJobContext: the same job runs against the event's context, and the runtime is freed", async () => {
    const { runtime, ctx, slot } = await fresh();
    pinJobContext(runtime, ctx);
    const before = slot.memory.buffer.byteLength;
    ctx.unwrapResult(ctx.evalCode(GROWING_JOB)).dispose();
    expect(runtime.executePendingJobs().error).toBeUndefined();
    expect(slot.memory.buffer.byteLength).toBeGreaterThan(before);
    expect(freesCleanly(runtime, ctx)).toBe(true);
  });

  it("upstream: ctx.newPromise() throws when creating the promise grows the memory", async () => {
    const { ctx } = await fresh();
    const kept = [];
    let thrown: unknown;
    for (let i = 0; i < 500_000 && thrown === undefined; i++) {
      try {
        kept.push(ctx.newPromise());
      } catch (error) {
        thrown = error;
      }
    }
    // Its resolve and reject functions were made in the VM, and no handle to them exists any more.
    expect(String(thrown)).toMatch(/detached ArrayBuffer/);
  });

  it("GuestPromises: promises made while the memory grows keep their resolvers; settled or not, the runtime is freed", async () => {
    const { slot, runtime, ctx } = await fresh();
    const promises = new GuestPromises(ctx);
    const made: Array<ReturnType<GuestPromises["create"]>> = [];
    let grewInside = 0;
    for (let i = 0; i < 500_000 && grewInside < 3; i++) {
      const before = slot.memory.buffer.byteLength;
      made.push(promises.create());
      if (slot.memory.buffer.byteLength !== before) grewInside++;
    }
    expect(grewInside).toBe(3);
    // Settle every other one (resolve and reject), leave the rest pending as at an event's end.
    made.forEach(({ settle }, i) => {
      if (i % 4 === 0) expect(settle(() => ({ value: ctx.newNumber(i) }))).toBeUndefined();
      if (i % 4 === 2) expect(settle(() => ({ error: ctx.newError("no") }))).toBeUndefined();
    });
    const first = ctx.getPromiseState(made[0]!.promise);
    expect(first.type).toBe("fulfilled");
    if (first.type === "fulfilled") expect(first.value.consume((value) => ctx.getNumber(value))).toBe(0);
    for (const { promise } of made) promise.dispose();
    promises.dispose();
    expect(freesCleanly(runtime, ctx)).toBe(true);
  });
});
