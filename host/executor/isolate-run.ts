// One event in one fresh QuickJS runtime + context: the only place that creates them, and it
// disposes them before returning (STYLE principle 1). The parts, one job each: the meter
// (isolate-meter.ts) runs guest code in metered slices and decides when a budget stops it, the
// driver (isolate-drive.ts) evaluates the bundle and runs the bot until it settles, and the
// outcome (isolate-outcome.ts) classifies how it ended and builds the RunResult. The runtime, the
// context and the owners of the host's handles (guest promises, host operations) live in one Scope,
// freed in reverse order of creation, so every handle goes before the runtime: one alive at
// JS_FreeRuntime aborts the WASM module. (The driver frees the dispatch promise it holds itself.)
import type { StateChanges, StateSnapshot } from "./state-snapshot.js";
import { performance } from "node:perf_hooks";
import { Scope, type QuickJSHandle, type QuickJSRuntime } from "quickjs-emscripten-core";
import type { FetchRequestData } from "../../std/contract.js";
import { errorMessage } from "../../core/errors.js";
import { QUICKJS_STACK_BYTES } from "../../core/limits.js";
import { stableMessageId } from "../wire/message-id.js";
import { EventRecorder } from "./event-recorder.js";
import { readGuestError } from "./guest-error.js";
import { GuestPromises } from "./guest-promises.js";
import { installHostBridge, type BridgeFetchResult } from "./host-bridge.js";
import { HostOperations } from "./host-operations.js";
import { driveEvent } from "./isolate-drive.js";
import { IsolateMeter, SandboxFault } from "./isolate-meter.js";
import { budgetEnding, faultEnding, runResult, thrownEnding, UNKNOWN_ERROR, wallEnding, type Ending } from "./isolate-outcome.js";
import { pinJobContext } from "./job-context.js";
import { slotMemoryExhausted, type ModuleSlot } from "./module-slot.js";
import type { RunRequest, RunResult } from "./run-types.js";
import type { CpuClock } from "./thread-cpu-clock.js";

/** Performs a fetch for the guest under the event's policy; `signal` fires at the wall deadline. */
export type IsolateFetch = (request: FetchRequestData, body: Uint8Array | undefined, signal: AbortSignal) => Promise<BridgeFetchResult>;

/** The outcome plus whether the module slot may run another event (and if not, why). */
export interface IsolateOutcome {
  result: RunResult;
  slotHealthy: boolean;
  resetReason?: string;
  /** When the event ended ok and changed the state: what it changed (result.state is the whole state after). */
  stateChanges?: StateChanges;
}

const MEMORY_USED_LINE = /^memory used\s+\d+\s+(\d+)/m;

/** The QuickJS heap in use, bytes, from the runtime's own accounting (~40 µs). */
function heapBytes(runtime: QuickJSRuntime): number {
  const match = MEMORY_USED_LINE.exec(runtime.dumpMemoryUsage());
  return match ? Number(match[1]) : 0;
}

/** Whether the module slot may run another event; the first reason it may not. */
class SlotHealth {
  healthy = true;
  reason: string | undefined;

  /** Never reuse this slot: the worker builds a fresh one for the next event. */
  readonly drop = (why: string, error: unknown): void => {
    this.healthy = false;
    this.reason ??= `${why} (${errorMessage(error).slice(0, 200)})`;
  };
}

/**
 * Run one event in `slot` (its module is injected: the release build in production, the debug
 * build in the handle-leak test); never throws for anything the guest does. Guest slices are
 * metered in CPU time with `cpuClock` (thread-cpu-clock.ts; call this on the thread that clock
 * belongs to), not wall time: on a busy relay a bot must not be charged for the time the kernel
 * gave other processes. The wall budget (and the executor's watchdog) still bound the real time.
 */
export async function runInIsolate(
  slot: ModuleSlot,
  request: RunRequest,
  fetch: IsolateFetch,
  cpuClock: CpuClock,
  /** Told once, synchronously, when the event goes over a budget (the worker tells the runner, which stops a guest that does not end). */
  onInterrupted?: (ending: Ending, cpuMs: number) => void,
  /** The state the event starts from, when the caller holds it prepared (sandbox-worker.ts); else request.state. */
  state: StateSnapshot | Record<string, string> = request.state,
): Promise<IsolateOutcome> {
  const { limits } = request;
  const startedAt = performance.now();
  const health = new SlotHealth();
  const abort = new AbortController();
  const fetched = { bytesIn: 0, bytesOut: 0 };
  const scope = new Scope();

  const runtime = scope.manage(slot.module.newRuntime());
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(QUICKJS_STACK_BYTES);
  const recorder = new EventRecorder(limits, state, () => performance.now() - startedAt);
  const meter = new IsolateMeter({
    limits,
    startedAt,
    cpuClock,
    output: recorder,
    memory: slot.memory,
    heapBytes: () => heapBytes(runtime),
    onOverrun: (overrun, cpuMs) => onInterrupted?.(budgetEnding(limits, recorder.limitHit, overrun)!, cpuMs),
    onFault: health.drop,
  });
  runtime.setInterruptHandler(meter.interrupt);
  const ctx = scope.manage(runtime.newContext());
  pinJobContext(runtime, ctx);
  const promises = scope.manage(new GuestPromises(ctx));
  const operations = scope.manage(new HostOperations(ctx, promises, (fn) => meter.slice(fn)));

  /** The ending when guest code stopped with `error` (a thrown value), or was stopped by a budget. */
  const endingFor = (error: QuickJSHandle | undefined): Ending =>
    budgetEnding(limits, recorder.limitHit, meter.overrun) ??
    // The thrown value's getters run as guest code: read it inside a metered slice.
    thrownEnding(limits, error ? meter.slice(() => readGuestError(ctx, error)) : UNKNOWN_ERROR, slotMemoryExhausted(slot));

  let ending: Ending;
  try {
    installHostBridge(ctx, {
      eventJson: JSON.stringify(request.event),
      attachments: request.attachments,
      recorder,
      now: () => (request.freezeClock ? request.nowMs : request.nowMs + Math.round(meter.elapsedMs())),
      fetch: (req, body) => fetch(req, body, abort.signal),
      pending: (operation) => operations.start(operation),
      messageIdFor: (index) => stableMessageId(request.messageIds.botAddr, request.messageIds.eventKey, index),
      overBudget: () => (meter.interrupt() ? meter.overrun : undefined),
      onFetched: (bytesIn, bytesOut) => {
        fetched.bytesIn += bytesIn;
        fetched.bytesOut += bytesOut;
      },
    });
    ending = await driveEvent({ runtime, ctx, bundle: request.bundle, meter, operations, endingFor, wallEnding: () => wallEnding(limits) });
  } catch (error) {
    if (!(error instanceof SandboxFault)) throw error;
    ending = faultEnding(limits, error.message, slotMemoryExhausted(slot));
  } finally {
    operations.end();
    abort.abort();
    if (health.healthy) meter.samplePeakHeap();
    // After a host exception inside the VM its heap may be inconsistent: the slot is dropped
    // whole (WASM memory and all) instead of asking QuickJS to free what it may not account for.
    if (health.healthy) freeAll(scope, health);
  }

  const result = runResult(ending, limits, { recorder, cpuMs: meter.cpuMs, wallMs: meter.elapsedMs(), peakHeapBytes: meter.peakHeapBytes, fetched });
  const stateChanges = result.state !== null ? recorder.stateChanges() : null;
  return {
    slotHealthy: health.healthy,
    ...(health.reason ? { resetReason: health.reason } : {}),
    result,
    ...(stateChanges ? { stateChanges } : {}),
  };
}

/** Dispose the event's handles, context and runtime (the scope frees them in reverse order). */
function freeAll(scope: Scope, health: SlotHealth): void {
  try {
    scope.dispose();
  } catch (error) {
    // A runtime that fails to dispose (leaked objects, corrupted heap) is never reused.
    health.drop("the runtime could not be freed", error);
  }
}
