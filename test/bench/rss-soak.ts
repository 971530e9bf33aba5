// Phase 7: the RSS soak. Thousands of events that allocate objects, strings, closures, promises and
// state through one runner (a fresh QuickJS runtime+context each), with the runner's resident
// memory sampled as they go. A leak the handle-leak test cannot see (host-side: the Worker, IPC,
// the module slot) would show here as growth per 1 000 events. Reported, never enforced.
import { performance } from "node:perf_hooks";
import { Executor } from "../../host/executor/executor.js";
import type { RunRequest } from "../../host/executor/run-types.js";
import { botWithMessageHandler, request } from "../support/sandbox.js";
import { expectEcho } from "./executor-bench.js";
import { processRss } from "./stats.js";

/** How long the soak may run: at most `events` events and `maxMs` of wall time; RSS read every `sampleEvery` events. */
export interface SoakBudget {
  events: number;
  maxMs: number;
  sampleEvery: number;
  /** Untimed events first, so the runner's JIT and heaps have settled before the first sample. */
  warmUp: number;
}

export interface RssSoakResult {
  events: number;
  /** The untimed events before them (SoakBudget.warmUp). */
  warmUpEvents: number;
  seconds: number;
  /** Runner RSS after the warm-up, bytes. */
  warmedBytes: number;
  /** Runner RSS after the last event, bytes. */
  endBytes: number;
  /** The highest sample of the first half and of the second half, bytes: V8's GC moves RSS by ±20 MiB, so peaks are compared, not single samples. */
  firstHalfPeakBytes: number;
  secondHalfPeakBytes: number;
  /** (second-half peak − first-half peak) per 1 000 events between the halves' midpoints, bytes. */
  growthBytesPer1000Events: number;
  /** Second-half peak / first-half peak: 1.00 when flat. */
  peakRatio: number;
}

/** The soak bot: each event allocates, awaits, reads and writes state, and replies with the text it got. */
export function soakRequest(): RunRequest {
  return request(
    botWithMessageHandler(`
      const junk = []; for (let i = 0; i < 200; i++) junk.push({ i, s: "x" + i, f: () => i });
      await Promise.all(junk.slice(0, 10).map(async (j) => j.i));
      await bot.state.set("n", ((await bot.state.get("n")) ?? 0) + 1);
      await bot.reply("echo: " + msg.text);`),
  );
}

/** Run the soak on one runner (concurrency 1) and report how its RSS moved. */
export async function measureRssSoak(budget: SoakBudget): Promise<RssSoakResult> {
  const soak = soakRequest();
  const executor = new Executor({ concurrency: 1 });
  try {
    await executor.warmUp();
    const pid = executor.runnerPids()[0]!;
    for (let i = 0; i < budget.warmUp; i++) expectEcho(await executor.run(soak), "echo: hello", "soak event (warm-up)");
    const warmedBytes = processRss(pid).rssBytes;
    const samples: number[] = [];
    const start = performance.now();
    let events = 0;
    while (events < budget.events && performance.now() - start < budget.maxMs) {
      const result = await executor.run(soak);
      events += 1;
      if (result.status !== "ok") expectEcho(result, "echo: hello", `soak event ${events}`);
      if (events % budget.sampleEvery === 0) samples.push(processRss(pid).rssBytes);
    }
    const seconds = (performance.now() - start) / 1000;
    if (executor.runnerPids()[0] !== pid) throw new Error("the runner was replaced during the soak: its RSS figures would mix two processes");
    const half = Math.floor(samples.length / 2);
    // NaN when the soak was too short for a sample in each half.
    const peak = (bytes: number[]) => (bytes.length > 0 ? Math.max(...bytes) : NaN);
    const firstHalfPeakBytes = peak(samples.slice(0, half));
    const secondHalfPeakBytes = peak(samples.slice(half));
    // The halves' midpoints are half the soak apart.
    const eventsBetweenHalves = (samples.length * budget.sampleEvery) / 2;
    return {
      events,
      warmUpEvents: budget.warmUp,
      seconds,
      warmedBytes,
      endBytes: processRss(pid).rssBytes,
      firstHalfPeakBytes,
      secondHalfPeakBytes,
      growthBytesPer1000Events: ((secondHalfPeakBytes - firstHalfPeakBytes) / eventsBetweenHalves) * 1000,
      peakRatio: secondHalfPeakBytes / firstHalfPeakBytes,
    };
  } finally {
    await executor.close();
  }
}
