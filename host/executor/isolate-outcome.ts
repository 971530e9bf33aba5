// How an event ended, decided from facts (the budget it went over, the value it threw, a fault of
// the sandbox), and the RunResult that reports it. Pure: nothing here touches the VM.
import type { EventLimits } from "../../core/limits.js";
import type { EventRecorder } from "./event-recorder.js";
import type { GuestErrorText } from "./guest-error.js";
import type { Overrun } from "./isolate-meter.js";
import type { LimitHit, RunError, RunResult, RunStatus } from "./run-types.js";

/** How an event ended: its status and, unless ok, the error and the limit hit. */
export type Ending = { status: RunStatus; error?: RunError; limit?: LimitHit };

/** What a guest value that could not be read (or no value at all) is reported as. */
export const UNKNOWN_ERROR: GuestErrorText = { name: "Error", message: "unknown error" };

/** The bundle has no `defineBot({...})` default export to call. */
export function noBotExportEnding(): Ending {
  return { status: "bot-error", error: { code: "E_NO_BOT_EXPORT", message: "the bundle's default export is not defineBot({...}) from chatbot/std" } };
}

/** The handler waits for a promise nothing can settle. */
export function stalledEnding(): Ending {
  return { status: "bot-error", error: { code: "E_STALLED", message: "the handler awaited something that can never complete (no host operation is pending)" } };
}

/** The ending of an event that went over a budget: an output cap first, then CPU, then wall time; else undefined. */
export function budgetEnding(limits: EventLimits, outputLimit: LimitHit | undefined, overrun: Overrun | undefined): Ending | undefined {
  if (outputLimit) {
    return {
      status: "output-limit",
      limit: outputLimit,
      error: { code: `E_LIMIT_${outputLimit.name}`, message: `output limit ${outputLimit.name} (${outputLimit.value} ${outputLimit.unit}) reached` },
    };
  }
  if (overrun === "cpu") {
    return {
      status: "cpu-limit",
      limit: { name: "cpuMsPerEvent", value: limits.cpuMsPerEvent, unit: "ms" },
      error: { code: "E_LIMIT_cpuMsPerEvent", message: `CPU budget of ${limits.cpuMsPerEvent} ms per event used up` },
    };
  }
  if (overrun === "wall") return wallEnding(limits);
  return undefined;
}

/** The wall-time budget ran out (guest code, or the host operations it waited for). */
export function wallEnding(limits: EventLimits): Ending {
  return {
    status: "wall-limit",
    limit: { name: "wallMsPerEvent", value: limits.wallMsPerEvent, unit: "ms" },
    error: { code: "E_LIMIT_wallMsPerEvent", message: `wall time budget of ${limits.wallMsPerEvent} ms per event used up` },
  };
}

/**
 * The ending of guest code that threw `error` (guest-error.ts's bounded text). `memoryExhausted`:
 * the slot's WASM memory is at its cap, so a blank error is QuickJS too short of memory to build one.
 */
export function thrownEnding(limits: EventLimits, error: GuestErrorText, memoryExhausted: boolean): Ending {
  const blank = error.message === "" && (error.name === "Error" || error.name === "");
  if ((error.name === "InternalError" && error.message === "out of memory") || (blank && memoryExhausted)) {
    return {
      status: "memory-limit",
      limit: memoryLimit(limits),
      error: { code: "E_LIMIT_memoryBytes", message: `out of memory (limit ${limits.memoryBytes} bytes)` },
    };
  }
  const code = error.message === "stack overflow" ? "E_STACK_OVERFLOW" : "E_BOT_EXCEPTION";
  return { status: "bot-error", error: { code, message: `${error.name}: ${error.message}`, ...(error.stack ? { stack: error.stack } : {}) } };
}

/** The ending when a host exception escaped guest code (the slot is dropped): out of memory when the WASM memory is at its cap. */
export function faultEnding(limits: EventLimits, faultMessage: string, memoryExhausted: boolean): Ending {
  return memoryExhausted
    ? { status: "memory-limit", limit: memoryLimit(limits), error: { code: "E_LIMIT_memoryBytes", message: "out of memory" } }
    : { status: "bot-error", error: { code: "E_SANDBOX", message: `the sandbox failed while running this bot; it was reset (${faultMessage.slice(0, 300)})` } };
}

/** What the event used, for its RunResult. */
export interface Usage {
  recorder: EventRecorder;
  cpuMs: number;
  wallMs: number;
  peakHeapBytes: number;
  fetched: { bytesIn: number; bytesOut: number };
}

/** The RunResult of `ending`: actions and state only when it ended ok. */
export function runResult(ending: Ending, limits: EventLimits, usage: Usage): RunResult {
  const ok = ending.status === "ok";
  const { recorder } = usage;
  return {
    status: ending.status,
    actions: ok ? recorder.actions : [],
    logs: recorder.logs,
    state: ok ? recorder.changedState() : null,
    ...(ending.error ? { error: ending.error } : {}),
    ...(ending.limit ? { limit: ending.limit } : {}),
    cpuMs: round(usage.cpuMs),
    wallMs: round(usage.wallMs),
    // Over its cap, the heap was full: report the cap even where the last sample was lower.
    memoryBytes: ending.status === "memory-limit" ? Math.max(usage.peakHeapBytes, limits.memoryBytes) : usage.peakHeapBytes,
    fetch: { count: recorder.fetchCount, bytesIn: usage.fetched.bytesIn, bytesOut: usage.fetched.bytesOut },
  };
}

function memoryLimit(limits: EventLimits): LimitHit {
  return { name: "memoryBytes", value: limits.memoryBytes, unit: "bytes" };
}

/** Milliseconds to the µs. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
