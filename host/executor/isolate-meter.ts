// Metering of one event's guest code: its CPU time (per slice, on the guest thread's clock), its
// wall deadline, the output limit its recorder hit, and the peak QuickJS heap. `interrupt` is both
// the runtime's interrupt handler and the bridge's budget check: guest code stops once it says so.
import { performance } from "node:perf_hooks";
import { errorMessage } from "../../core/errors.js";
import type { EventLimits } from "../../core/limits.js";
import type { LimitHit } from "./run-types.js";
import type { CpuClock } from "./thread-cpu-clock.js";

/** Which budget stopped the guest: CPU, wall time, or an output cap (actions, logs, state …). */
export type Overrun = "cpu" | "wall" | "output";

/** Raised by `slice` when a host-side exception escaped guest execution: the module slot is unusable. */
export class SandboxFault extends Error {}

/** What the meter reads and whom it tells. */
export interface MeterOptions {
  limits: Pick<EventLimits, "cpuMsPerEvent" | "wallMsPerEvent" | "memoryBytes">;
  /** performance.now() when the event started, ms. */
  startedAt: number;
  /** The guest thread's CPU clock (thread-cpu-clock.ts). */
  cpuClock: CpuClock;
  /** Where output caps are counted (EventRecorder): its first limit hit stops guest code too. */
  output: { readonly limitHit: LimitHit | undefined };
  /** The slot's WASM memory: a slice that grew it has the heap sampled. */
  memory: WebAssembly.Memory;
  /** The QuickJS heap in use, bytes; may trap when the WASM memory is at its cap. */
  heapBytes: () => number;
  /** Told once, synchronously, when guest code first goes over a budget, with the CPU ms used so far. */
  onOverrun: (overrun: Overrun, cpuMs: number) => void;
  /** The module trapped or threw inside a call: never reuse the slot. */
  onFault: (why: string, error: unknown) => void;
}

/** The budgets of one event as guest code uses them. */
export class IsolateMeter {
  /** CPU time of guest code in finished slices, ms. */
  cpuMs = 0;
  /** The first budget the guest went over; set once. */
  overrun: Overrun | undefined;
  /** The highest QuickJS heap seen, bytes (sampled when the WASM memory grew, and at the end). */
  peakHeapBytes = 0;
  /** performance.now() after which the wall budget is used up, ms. */
  readonly wallDeadline: number;
  // Wall and CPU clock readings when the running slice started; wall -1 = no guest code running.
  private sliceWallStart = -1;
  private sliceCpuStart = 0;

  constructor(private readonly options: MeterOptions) {
    this.wallDeadline = options.startedAt + options.limits.wallMsPerEvent;
  }

  /** Milliseconds since the event started. */
  elapsedMs(): number {
    return performance.now() - this.options.startedAt;
  }

  /** Whether guest code has to stop: a budget is used up or an output cap was hit. */
  stopped(): boolean {
    return this.options.output.limitHit !== undefined || this.overrun !== undefined;
  }

  /** Whether guest code must stop now: the interrupt handler, also asked by the bridge before each call. */
  readonly interrupt = (): boolean => {
    const before = this.overrun;
    this.decideOverrun();
    if (before === undefined && this.overrun !== undefined) {
      try {
        this.options.onOverrun(this.overrun, this.cpuMs + (this.sliceWallStart >= 0 ? this.sliceCpu(performance.now() - this.sliceWallStart) : 0));
      } catch {
        // Telling the runner is best effort: the event ends on its own in the normal case.
      }
    }
    return this.overrun !== undefined;
  };

  /** Run guest code, metering its CPU time; a host exception inside it marks the slot unusable and becomes a SandboxFault. */
  slice<T>(fn: () => T): T {
    const grownBefore = this.options.memory.buffer.byteLength;
    this.sliceWallStart = performance.now();
    this.sliceCpuStart = this.options.cpuClock();
    try {
      return fn();
    } catch (error) {
      this.options.onFault("a host exception inside guest code", error);
      throw new SandboxFault(errorMessage(error));
    } finally {
      this.cpuMs += this.sliceCpu(performance.now() - this.sliceWallStart);
      this.sliceWallStart = -1;
      if (this.options.memory.buffer.byteLength !== grownBefore) this.samplePeakHeap();
    }
  }

  /** Record the heap in use if it is a new peak; never throws. */
  samplePeakHeap(): void {
    try {
      this.peakHeapBytes = Math.max(this.peakHeapBytes, this.options.heapBytes());
    } catch (error) {
      // With the WASM memory (nearly) at its cap, dumpMemoryUsage's own malloc fails and its C code
      // traps ("null function or function signature mismatch"), which used to escape runInIsolate
      // and crash the worker (E_RUNNER). The heap is full; a module that trapped mid-call is not reused.
      this.peakHeapBytes = Math.max(this.peakHeapBytes, this.options.limits.memoryBytes);
      this.options.onFault("reading the heap size trapped", error);
    }
  }

  private decideOverrun(): void {
    if (this.options.output.limitHit) {
      this.overrun ??= "output";
      return;
    }
    const now = performance.now();
    const { cpuMsPerEvent } = this.options.limits;
    if (now > this.wallDeadline) this.overrun ??= "wall";
    // Read the CPU clock (~2 µs) only once the slice's wall time alone could exceed the budget.
    else if (
      this.sliceWallStart >= 0 &&
      this.cpuMs + (now - this.sliceWallStart) > cpuMsPerEvent &&
      this.cpuMs + this.sliceCpu(now - this.sliceWallStart) > cpuMsPerEvent
    ) {
      this.overrun ??= "cpu";
    }
  }

  /**
   * CPU time of the running slice, ms, at most its wall time `wallMs`: the guest runs on one
   * thread, so CPU beyond wall time can only be other threads' (the process-wide fallback clock
   * counts WASM tier-up compilation and GC helpers) and is not the bot's.
   */
  private sliceCpu(wallMs: number): number {
    return Math.min(this.options.cpuClock() - this.sliceCpuStart, wallMs);
  }
}
