// One event in one fresh QuickJS runtime + context: the only place that creates them, and it
// disposes them before returning (STYLE principle 1). Guest code only runs inside `slice()`,
// which meters CPU time and arms the interrupt handler's budget. Every handle the host holds
// (guest promises of pending fetches, the dispatch promise) is freed before the runtime: one alive
// at JS_FreeRuntime aborts the WASM module.
import { performance } from "node:perf_hooks";
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from "quickjs-emscripten-core";
import { BOT_MARKER, BUNDLE_GLOBAL, type FetchRequestData } from "../../std/contract.js";
import { JOBS_PER_SLICE, QUICKJS_STACK_BYTES } from "../../core/limits.js";
import { stableMessageId } from "../wire/message-id.js";
import { EventRecorder } from "./event-recorder.js";
import { readGuestError, type GuestErrorText } from "./guest-error.js";
import { GuestPromises, type Settlement } from "./guest-promises.js";
import { installHostBridge, type BridgeFetchResult } from "./host-bridge.js";
import { pinJobContext } from "./job-context.js";
import { slotMemoryExhausted, type ModuleSlot } from "./module-slot.js";
import type { LimitHit, RunError, RunRequest, RunResult, RunStatus } from "./run-types.js";
import type { CpuClock } from "./thread-cpu-clock.js";
import { errorMessage } from "../../core/errors.js";

/** Performs a fetch for the guest under the event's policy; `signal` fires at the wall deadline. */
export type IsolateFetch = (request: FetchRequestData, body: Uint8Array | undefined, signal: AbortSignal) => Promise<BridgeFetchResult>;

/** The outcome plus whether the module slot may run another event (and if not, why). */
export interface IsolateOutcome {
  result: RunResult;
  slotHealthy: boolean;
  resetReason?: string;
}

/** How an event ended: its status and, unless ok, the error and the limit hit. */
export type Ending = { status: RunStatus; error?: RunError; limit?: LimitHit };

/** Raised inside the driver when a host-side exception escaped guest execution. */
class SandboxFault extends Error {}

const MEMORY_USED_LINE = /^memory used\s+\d+\s+(\d+)/m;

/** The QuickJS heap in use, bytes, from the runtime's own accounting (~40 µs). */
function heapBytes(runtime: QuickJSRuntime): number {
  const match = MEMORY_USED_LINE.exec(runtime.dumpMemoryUsage());
  return match ? Number(match[1]) : 0;
}

/**
 * Run one event; never throws for anything the guest does. Guest slices are metered in CPU time
 * with `cpuClock` (thread-cpu-clock.ts; call this on the thread that clock belongs to), not wall
 * time: on a busy relay a bot must not be charged for the time the kernel gave other processes.
 * The wall budget (and the executor's watchdog) still bound the real time.
 */
export async function runInIsolate(
  slot: ModuleSlot,
  request: RunRequest,
  fetch: IsolateFetch,
  cpuClock: CpuClock,
  /** Told once, synchronously, when the event goes over a budget (the worker tells the runner, which stops a guest that does not end). */
  onInterrupted?: (ending: Ending, cpuMs: number) => void,
): Promise<IsolateOutcome> {
  const { limits } = request;
  const startedAt = performance.now();
  const wallDeadline = startedAt + limits.wallMsPerEvent;
  const elapsed = () => performance.now() - startedAt;
  const recorder = new EventRecorder(limits, request.state, elapsed);
  const abort = new AbortController();
  const inflight = new Set<Promise<void>>();
  const fetched = { bytesIn: 0, bytesOut: 0 };
  let cpuMs = 0;
  // Wall and CPU clock readings when the running slice started; wall -1 = no guest code running.
  let sliceWallStart = -1;
  let sliceCpuStart = 0;
  let interruptedBy: "cpu" | "wall" | "output" | undefined;
  let slotHealthy = true;
  let resetReason: string | undefined;
  /** Never reuse this slot: the worker builds a fresh one for the next event. */
  const dropSlot = (why: string, error: unknown) => {
    slotHealthy = false;
    resetReason ??= `${why} (${errorMessage(error).slice(0, 200)})`;
  };
  // Set when the event is over: a host operation that finishes later must not touch the VM.
  let ended = false;
  // A host exception, or the VM's error, while a finished host operation was settled (outside drive's stack).
  let settleFault: SandboxFault | undefined;
  let settleError: QuickJSHandle | undefined;
  let peakHeap = 0;

  const runtime = slot.module.newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(QUICKJS_STACK_BYTES);
  /**
   * CPU time of the running slice, ms, at most its wall time `wall`: the guest runs on one thread,
   * so CPU beyond wall time can only be other threads' (the process-wide fallback clock counts
   * WASM tier-up compilation and GC helpers) and is not the bot's.
   */
  const sliceCpu = (wall: number) => Math.min(cpuClock() - sliceCpuStart, wall);

  /** Whether guest code must stop now: the interrupt handler, also asked by the bridge before each call. */
  const interrupt = (): boolean => {
    const before = interruptedBy;
    decideInterrupt();
    if (before === undefined && interruptedBy !== undefined) {
      try {
        onInterrupted?.(limitEnding()!, cpuMs + (sliceWallStart >= 0 ? sliceCpu(performance.now() - sliceWallStart) : 0));
      } catch {
        // Telling the runner is best effort: the event ends on its own in the normal case.
      }
    }
    return interruptedBy !== undefined;
  };
  function decideInterrupt(): void {
    if (recorder.limitHit) interruptedBy ??= "output";
    else {
      const now = performance.now();
      if (now > wallDeadline) interruptedBy ??= "wall";
      // Read the CPU clock (~2 µs) only once the slice's wall time alone could exceed the budget.
      else if (sliceWallStart >= 0 && cpuMs + (now - sliceWallStart) > limits.cpuMsPerEvent && cpuMs + sliceCpu(now - sliceWallStart) > limits.cpuMsPerEvent) {
        interruptedBy ??= "cpu";
      }
    }
  }
  runtime.setInterruptHandler(interrupt);

  /** Record the heap in use if it is a new peak; never throws. */
  const samplePeakHeap = () => {
    try {
      peakHeap = Math.max(peakHeap, heapBytes(runtime));
    } catch (error) {
      // With the WASM memory (nearly) at its cap, dumpMemoryUsage's own malloc fails and its C code
      // traps ("null function or function signature mismatch"), which used to escape runInIsolate
      // and crash the worker (E_RUNNER). The heap is full; a module that trapped mid-call is not reused.
      peakHeap = Math.max(peakHeap, limits.memoryBytes);
      dropSlot("reading the heap size trapped", error);
    }
  };

  /** Run guest code, metering its time; a host exception marks the slot as unusable. */
  const slice = <T>(fn: () => T): T => {
    const grownBefore = slot.memory.buffer.byteLength;
    sliceWallStart = performance.now();
    sliceCpuStart = cpuClock();
    try {
      return fn();
    } catch (error) {
      dropSlot("a host exception inside guest code", error);
      throw new SandboxFault(errorMessage(error));
    } finally {
      cpuMs += sliceCpu(performance.now() - sliceWallStart);
      sliceWallStart = -1;
      if (slot.memory.buffer.byteLength !== grownBefore) samplePeakHeap();
    }
  };

  let ending: Ending;
  const ctx = runtime.newContext();
  pinJobContext(runtime, ctx);
  const promises = new GuestPromises(ctx);
  try {
    installHostBridge(ctx, {
      eventJson: JSON.stringify(request.event),
      attachments: request.attachments,
      recorder,
      now: () => (request.freezeClock ? request.nowMs : request.nowMs + Math.round(elapsed())),
      fetch: (req, body) => fetch(req, body, abort.signal),
      pending: (operation) => {
        const { promise, settle } = promises.create();
        const deliver = (settlement: Settlement) => {
          if (ended) return;
          try {
            const error = slice(() => settle(settlement));
            if (error && settleError) error.dispose();
            else if (error) settleError = error;
          } catch (fault) {
            // slice() throws only SandboxFault; drive() rethrows it when it wakes up.
            settleFault ??= fault as SandboxFault;
          }
        };
        const settled = operation
          .then(deliver, (error: unknown) => deliver(() => ({ error: ctx.newError({ name: "Error", message: `E_HOST: ${String(error).slice(0, 200)}` }) })))
          .finally(() => inflight.delete(settled));
        inflight.add(settled);
        return promise;
      },
      messageIdFor: (index) => stableMessageId(request.messageIds.botAddr, request.messageIds.eventKey, index),
      overBudget: () => (interrupt() ? interruptedBy : undefined),
      onFetched: (bytesIn, bytesOut) => {
        fetched.bytesIn += bytesIn;
        fetched.bytesOut += bytesOut;
      },
    });
    ending = await drive(ctx);
  } catch (error) {
    if (!(error instanceof SandboxFault)) throw error;
    ending = slotMemoryExhausted(slot)
      ? { status: "memory-limit", limit: { name: "memoryBytes", value: limits.memoryBytes, unit: "bytes" }, error: { code: "E_LIMIT_memoryBytes", message: "out of memory" } }
      : { status: "bot-error", error: { code: "E_SANDBOX", message: `the sandbox failed while running this bot; it was reset (${error.message.slice(0, 300)})` } };
  } finally {
    ended = true;
    abort.abort();
    if (slotHealthy) samplePeakHeap();
    try {
      // After a host exception inside the VM its heap may be inconsistent: the slot is dropped
      // whole (WASM memory and all) instead of asking QuickJS to free what it may not account for.
      if (slotHealthy) {
        // Guest promises still pending (fetches in flight) hold handles: free them first.
        if (settleError?.alive) settleError.dispose();
        promises.dispose();
        ctx.dispose();
        runtime.dispose();
      }
    } catch (error) {
      // A runtime that fails to dispose (leaked objects, corrupted heap) is never reused.
      dropSlot("the runtime could not be freed", error);
    }
  }

  const ok = ending.status === "ok";
  return {
    slotHealthy,
    ...(resetReason ? { resetReason } : {}),
    result: {
      status: ending.status,
      actions: ok ? recorder.actions : [],
      logs: recorder.logs,
      state: ok ? recorder.changedState() : null,
      ...(ending.error ? { error: ending.error } : {}),
      ...(ending.limit ? { limit: ending.limit } : {}),
      cpuMs: round(cpuMs),
      wallMs: round(elapsed()),
      memoryBytes: ending.status === "memory-limit" ? Math.max(peakHeap, limits.memoryBytes) : peakHeap,
      fetch: { count: recorder.fetchCount, bytesIn: fetched.bytesIn, bytesOut: fetched.bytesOut },
    },
  };

  /** The ending of an event that went over a budget (output, CPU or wall), else undefined. */
  function limitEnding(): Ending | undefined {
    const limit = recorder.limitHit;
    if (limit) return { status: "output-limit", limit, error: { code: `E_LIMIT_${limit.name}`, message: `output limit ${limit.name} (${limit.value} ${limit.unit}) reached` } };
    if (interruptedBy === "cpu") {
      return { status: "cpu-limit", limit: { name: "cpuMsPerEvent", value: limits.cpuMsPerEvent, unit: "ms" }, error: { code: "E_LIMIT_cpuMsPerEvent", message: `CPU budget of ${limits.cpuMsPerEvent} ms per event used up` } };
    }
    if (interruptedBy === "wall") return wallEnding();
    return undefined;
  }

  /** The ending when guest code stopped with `errorHandle` (or was interrupted). */
  function endingFor(errorHandle: QuickJSHandle | undefined): Ending {
    const overBudget = limitEnding();
    if (overBudget) return overBudget;
    const error = errorHandle ? describeGuestError(errorHandle) : { name: "Error", message: "unknown error" };
    // Out of memory so deep that QuickJS could not even build the error leaves a blank value.
    const blank = error.message === "" && (error.name === "Error" || error.name === "");
    if ((error.name === "InternalError" && error.message === "out of memory") || (blank && slotMemoryExhausted(slot))) {
      return { status: "memory-limit", limit: { name: "memoryBytes", value: limits.memoryBytes, unit: "bytes" }, error: { code: "E_LIMIT_memoryBytes", message: `out of memory (limit ${limits.memoryBytes} bytes)` } };
    }
    const code = error.message === "stack overflow" ? "E_STACK_OVERFLOW" : "E_BOT_EXCEPTION";
    return { status: "bot-error", error: { code, message: `${error.name}: ${error.message}`, ...(error.stack ? { stack: error.stack } : {}) } };
  }

  function wallEnding(): Ending {
    return { status: "wall-limit", limit: { name: "wallMsPerEvent", value: limits.wallMsPerEvent, unit: "ms" }, error: { code: "E_LIMIT_wallMsPerEvent", message: `wall time budget of ${limits.wallMsPerEvent} ms per event used up` } };
  }

  /** Read name/message/stack of a thrown guest value, each capped by length (guest-error.ts); its getters run as metered guest code. */
  function describeGuestError(handle: QuickJSHandle): GuestErrorText {
    try {
      return slice(() => readGuestError(ctx, handle));
    } catch (error) {
      if (error instanceof SandboxFault) throw error;
      return { name: "Error", message: "a value was thrown that could not be read" };
    }
  }

  /** Evaluate the bundle, call the bot's dispatch, and run jobs and host operations until it settles. */
  async function drive(context: QuickJSContext): Promise<Ending> {
    const evaluated = slice(() => context.evalCode(request.bundle.code, request.bundle.filename, { type: "global" }));
    if (evaluated.error) return evaluated.error.consume(endingFor);
    evaluated.value.dispose();

    const promise = slice(() => {
      const definition = context.getProp(context.global, BUNDLE_GLOBAL).consume((ns) =>
        context.typeof(ns) === "object" ? context.getProp(ns, "default") : undefined,
      );
      if (!definition) return undefined;
      return definition.consume((bot) => {
        const kind = context.getProp(bot, "kind").consume((h) => (context.typeof(h) === "string" ? context.getString(h) : ""));
        if (kind !== BOT_MARKER) return undefined;
        return context.getProp(bot, "dispatch").consume((dispatch) => context.callFunction(dispatch, bot));
      });
    });
    if (!promise) {
      return { status: "bot-error", error: { code: "E_NO_BOT_EXPORT", message: "the bundle's default export is not defineBot({...}) from chatbot/std" } };
    }
    if (promise.error) return promise.error.consume(endingFor);

    // Not `consume`: the loop is async and the handle must live until it ends.
    const handle = promise.value;
    try {
      for (;;) {
        // In batches: a guest that catches its interruption in an async function keeps queueing
        // jobs, and one unbounded call would never come back to check the budgets.
        let ran: number;
        do {
          const jobs = slice(() => runtime.executePendingJobs(JOBS_PER_SLICE));
          if (jobs.error) return jobs.error.consume(endingFor);
          ran = jobs.value;
          if (recorder.limitHit || interruptedBy) return endingFor(undefined);
        } while (ran >= JOBS_PER_SLICE);
        const state = context.getPromiseState(handle);
        if (state.type === "fulfilled") {
          state.value.dispose();
          return { status: "ok" };
        }
        if (state.type === "rejected") return state.error.consume(endingFor);
        if (inflight.size === 0) {
          return { status: "bot-error", error: { code: "E_STALLED", message: "the handler awaited something that can never complete (no host operation is pending)" } };
        }
        const remaining = wallDeadline - performance.now();
        if (remaining <= 0) return wallEnding();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          Promise.race(inflight).then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), remaining))),
        ]);
        clearTimeout(timer);
        if (settleFault) throw settleFault;
        if (settleError) {
          const error = settleError;
          settleError = undefined;
          return error.consume(endingFor);
        }
        if (timedOut) return wallEnding();
      }
    } finally {
      handle.dispose();
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
