// Phases 3, 6 and 7, in this process (no IPC, no Worker): `runInIsolate` on one module slot, its
// parts (fresh runtime+context, bundle compile and evaluation, the heap sample), the same event
// with a ~50 KB bundle, and the cost of building a module slot (paid again after an OOM recycle).
import { performance } from "node:perf_hooks";
import type { QuickJSRuntime } from "quickjs-emscripten-core";
import { runInIsolate, type IsolateFetch } from "../../host/executor/isolate-run.js";
import { compileQuickJSWasm, createModuleSlot, type ModuleSlot } from "../../host/executor/module-slot.js";
import { threadCpuClock } from "../../host/executor/thread-cpu-clock.js";
import type { RunRequest } from "../../host/executor/run-types.js";
import { QUICKJS_STACK_BYTES } from "../../core/limits.js";
import { expectEcho } from "./executor-bench.js";
import { sampleMs, summarize, type SampleBudget, type Summary } from "./stats.js";

/** The echo bots never fetch; a fetch here would be a bug in the bench's bot. */
const noFetch: IsolateFetch = () => Promise.reject(new Error("the benchmark bots do not fetch"));

/** The parts of one event that can be timed on their own, ms. */
export interface EventParts {
  /** newRuntime + limits + interrupt handler + newContext + dispose both. */
  createDisposeMs: Summary;
  /** evalCode of the bundle (compile + run its top level) in a fresh context. */
  evalMs: Summary;
  /** Compile only (`compileOnly`), no top level run. */
  compileMs: Summary;
  /** One `dumpMemoryUsage` (how isolate-run samples the heap; at least once per event). */
  heapSampleMs: Summary;
}

export interface IsolateResult {
  wasmCompileMs: Summary;
  slotCreateMs: Summary;
  echo: { eventMs: Summary; cpuMsPerEvent: number; parts: EventParts };
  large: { eventMs: Summary; cpuMsPerEvent: number; parts: EventParts };
}

/** A runtime set up like isolate-run sets one up (memory limit, stack limit, interrupt handler). */
function freshRuntime(slot: ModuleSlot, request: RunRequest): QuickJSRuntime {
  const runtime = slot.module.newRuntime();
  runtime.setMemoryLimit(request.limits.memoryBytes);
  runtime.setMaxStackSize(QUICKJS_STACK_BYTES);
  runtime.setInterruptHandler(() => false);
  return runtime;
}

/** Time the parts of an event for `request`'s bundle on `slot`. */
async function measureParts(slot: ModuleSlot, request: RunRequest, budget: SampleBudget): Promise<EventParts> {
  const { code, filename } = request.bundle;
  const createDisposeMs = summarize(
    await sampleMs(budget, () => {
      const runtime = freshRuntime(slot, request);
      runtime.newContext().dispose();
      runtime.dispose();
    }),
  );
  /** Time only the evalCode call of a fresh context; setup and disposal are outside the clock. */
  const timedEval = (compileOnly: boolean, heapSamples: number[] | undefined) => {
    const runtime = freshRuntime(slot, request);
    const ctx = runtime.newContext();
    try {
      const start = performance.now();
      const result = ctx.evalCode(code, filename, { type: "global", compileOnly });
      const ms = performance.now() - start;
      if (result.error) throw new Error(`the bundle failed to evaluate: ${JSON.stringify(result.error.consume((e) => ctx.dump(e)))}`);
      result.value.dispose();
      if (heapSamples) {
        const heapStart = performance.now();
        runtime.dumpMemoryUsage();
        heapSamples.push(performance.now() - heapStart);
      }
      return ms;
    } finally {
      ctx.dispose();
      runtime.dispose();
    }
  };
  const heapSamples: number[] = [];
  const evalSamples: number[] = [];
  const compileSamples: number[] = [];
  await sampleMs(budget, () => evalSamples.push(timedEval(false, heapSamples)));
  await sampleMs(budget, () => compileSamples.push(timedEval(true, undefined)));
  return { createDisposeMs, evalMs: summarize(evalSamples), compileMs: summarize(compileSamples), heapSampleMs: summarize(heapSamples) };
}

/** Whole events through `runInIsolate`, checked to end ok with the echo reply; also CPU ms per event. */
async function measureEvents(
  slot: ModuleSlot,
  request: RunRequest,
  replyText: string,
  budget: SampleBudget,
): Promise<{ eventMs: Summary; cpuMsPerEvent: number }> {
  let slotHealthy = true;
  let cpuBefore = process.cpuUsage();
  let events = 0;
  const cpuClock = threadCpuClock();
  const samples = await sampleMs(budget, async () => {
    // The warm-up runs are not timed: start counting CPU at the first timed one.
    if (events++ === (budget.warmUp ?? 0)) cpuBefore = process.cpuUsage();
    const outcome = await runInIsolate(slot, request, noFetch, cpuClock);
    slotHealthy &&= outcome.slotHealthy;
    expectEcho(outcome.result, replyText, "in-process echo event");
  });
  const cpu = process.cpuUsage(cpuBefore);
  if (!slotHealthy) throw new Error("the module slot became unhealthy during the benchmark");
  return { eventMs: summarize(samples), cpuMsPerEvent: (cpu.user + cpu.system) / 1000 / samples.length };
}

/** Run phases 3, 6 and 7: `echo` and `large` are requests for the two bundles with the same event. */
export async function measureIsolate(
  echo: RunRequest,
  large: RunRequest,
  replyText: string,
  budgets: { events: SampleBudget; largeEvents: SampleBudget; parts: SampleBudget; largeParts: SampleBudget; slots: SampleBudget; wasmCompile: SampleBudget },
): Promise<IsolateResult> {
  const wasmCompileMs = summarize(await sampleMs(budgets.wasmCompile, () => compileQuickJSWasm()));
  const wasm = compileQuickJSWasm();
  const slot = await createModuleSlot(wasm, echo.limits.memoryBytes);

  const echoEvents = await measureEvents(slot, echo, replyText, budgets.events);
  const echoParts = await measureParts(slot, echo, budgets.parts);
  const largeEvents = await measureEvents(slot, large, replyText, budgets.largeEvents);
  const largeParts = await measureParts(slot, large, budgets.largeParts);

  // Each slot reserves its own WASM memory; none is kept, so the GC can take them back.
  const slotCreateMs = summarize(await sampleMs(budgets.slots, () => createModuleSlot(wasm, echo.limits.memoryBytes)));
  return { wasmCompileMs, slotCreateMs, echo: { ...echoEvents, parts: echoParts }, large: { ...largeEvents, parts: largeParts } };
}
