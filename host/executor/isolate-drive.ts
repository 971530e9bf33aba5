// Driving one event's guest code: evaluate the bundle, call the bot's dispatch, then run jobs and
// wait for host operations until the dispatch promise settles or a budget stops it. Every guest
// step runs inside the meter's slice; how a stop is classified is the caller's (`endingFor`).
import { performance } from "node:perf_hooks";
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, VmCallResult } from "quickjs-emscripten-core";
import { BOT_MARKER, BUNDLE_GLOBAL } from "../../std/contract.js";
import { JOBS_PER_SLICE } from "../../core/limits.js";
import type { HostOperations } from "./host-operations.js";
import type { IsolateMeter } from "./isolate-meter.js";
import { noBotExportEnding, stalledEnding, type Ending } from "./isolate-outcome.js";
import type { RunRequest } from "./run-types.js";

/** What driving one event needs. */
export interface DriveParts {
  runtime: QuickJSRuntime;
  ctx: QuickJSContext;
  bundle: RunRequest["bundle"];
  meter: IsolateMeter;
  operations: HostOperations;
  /** The ending when guest code stopped with the thrown value `error`, or (undefined) was stopped by a budget. */
  endingFor: (error: QuickJSHandle | undefined) => Ending;
  /** The ending when the wall budget ran out while waiting for host operations. */
  wallEnding: () => Ending;
}

/** Run the event's guest code to its end; throws only SandboxFault (a host exception inside guest code). */
export async function driveEvent(parts: DriveParts): Promise<Ending> {
  const { meter, endingFor } = parts;
  const evaluated = meter.slice(() => parts.ctx.evalCode(parts.bundle.code, parts.bundle.filename, { type: "global" }));
  if (evaluated.error) return evaluated.error.consume(endingFor);
  evaluated.value.dispose();

  const dispatched = meter.slice(() => callDispatch(parts.ctx));
  if (!dispatched) return noBotExportEnding();
  if (dispatched.error) return dispatched.error.consume(endingFor);
  // Not `consume`: the wait is async and the handle must live until it ends.
  const promise = dispatched.value;
  try {
    return await settle(parts, promise);
  } finally {
    promise.dispose();
  }
}

/** Call `dispatch()` of the bundle's default export if it is a bot (defineBot's marker); undefined when it is not. */
function callDispatch(ctx: QuickJSContext): VmCallResult<QuickJSHandle> | undefined {
  const definition = ctx.getProp(ctx.global, BUNDLE_GLOBAL).consume((ns) => (ctx.typeof(ns) === "object" ? ctx.getProp(ns, "default") : undefined));
  if (!definition) return undefined;
  return definition.consume((bot) => {
    const kind = ctx.getProp(bot, "kind").consume((h) => (ctx.typeof(h) === "string" ? ctx.getString(h) : ""));
    if (kind !== BOT_MARKER) return undefined;
    return ctx.getProp(bot, "dispatch").consume((dispatch) => ctx.callFunction(dispatch, bot));
  });
}

/** Run jobs and wait for host operations until `promise` settles, the guest stalls or a budget stops it. */
async function settle(parts: DriveParts, promise: QuickJSHandle): Promise<Ending> {
  const { runtime, ctx, meter, operations, endingFor } = parts;
  for (;;) {
    // In batches: a guest that catches its interruption in an async function keeps queueing
    // jobs, and one unbounded call would never come back to check the budgets.
    let ran: number;
    do {
      const jobs = meter.slice(() => runtime.executePendingJobs(JOBS_PER_SLICE));
      if (jobs.error) return jobs.error.consume(endingFor);
      ran = jobs.value;
      if (meter.stopped()) return endingFor(undefined);
    } while (ran >= JOBS_PER_SLICE);
    const state = ctx.getPromiseState(promise);
    if (state.type === "fulfilled") {
      state.value.dispose();
      return { status: "ok" };
    }
    if (state.type === "rejected") return state.error.consume(endingFor);
    if (!operations.pending) return stalledEnding();
    const remaining = meter.wallDeadline - performance.now();
    if (remaining <= 0) return parts.wallEnding();
    const timedOut = await operations.waitForOne(remaining);
    operations.throwFault();
    const error = operations.takeError();
    if (error) return error.consume(endingFor);
    if (timedOut) return parts.wallEnding();
  }
}
