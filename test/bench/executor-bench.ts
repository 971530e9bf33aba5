// Phases 2, 4 and 5: echo events end to end through the Executor (host → runner process IPC →
// sandbox Worker → fresh QuickJS runtime+context → bundle eval → handler → result), the
// sequential throughput of one runner, and the resident memory of the runner and the host.
import { performance } from "node:perf_hooks";
import { Executor } from "../../host/executor/executor.js";
import type { RunRequest, RunResult } from "../../host/executor/run-types.js";
import { processCpuMs, processRss, summarize, type SampleBudget, type Summary } from "./stats.js";

/** RSS of the runner (VmRSS, and VmHWM its peak) and of the bench's own host process, bytes. */
export interface RssPoint {
  runnerBytes: number;
  runnerPeakBytes: number;
  hostBytes: number;
}

export interface ExecutorResult {
  perEventMs: Summary;
  /** CPU time per timed event, ms: of the runner process (worker included) and of the host. */
  cpuMsPerEvent: { runner: number; host: number };
  /** Events per second, one runner, events sent back to back. */
  throughput: { events: number; seconds: number; perSecond: number };
  rss: { ready: RssPoint; warmedUp: RssPoint; afterEvents: RssPoint; afterThroughput: RssPoint };
  runnersStarted: number;
}

/** Throw unless the event ended ok with the echo reply: a benchmark of a failing bot means nothing. */
export function expectEcho(result: RunResult, text: string, what: string): void {
  const reply = result.actions[0];
  if (result.status !== "ok" || reply?.type !== "reply" || reply.text !== text) {
    throw new Error(`${what}: expected an ok reply "${text}", got ${JSON.stringify({ status: result.status, error: result.error, actions: result.actions })}`);
  }
}

/** Measure the Executor on `request` with one runner (concurrency 1). */
export async function measureExecutor(request: RunRequest, replyText: string, budget: SampleBudget, throughputMs: number): Promise<ExecutorResult> {
  const executor = new Executor({ concurrency: 1 });
  try {
    await executor.warmUp();
    const pid = executor.runnerPids()[0]!;
    const rss = (): RssPoint => {
      const runner = processRss(pid);
      return { runnerBytes: runner.rssBytes, runnerPeakBytes: runner.peakBytes, hostBytes: processRss(process.pid).rssBytes };
    };
    const ready = rss();

    let last = await executor.run(request);
    expectEcho(last, replyText, "sandbox echo event (first)");
    for (let i = 1; i < (budget.warmUp ?? 0); i++) last = await executor.run(request);
    const warmedUp = rss();

    const samples: number[] = [];
    const runnerCpuBefore = processCpuMs(pid);
    const hostCpuBefore = process.cpuUsage();
    const stopAt = performance.now() + budget.maxMs;
    while (samples.length < budget.n && performance.now() < stopAt) {
      const start = performance.now();
      last = await executor.run(request);
      samples.push(performance.now() - start);
    }
    const hostCpu = process.cpuUsage(hostCpuBefore);
    const cpuMsPerEvent = {
      runner: (processCpuMs(pid) - runnerCpuBefore) / samples.length,
      host: (hostCpu.user + hostCpu.system) / 1000 / samples.length,
    };
    const afterEvents = rss();
    expectEcho(last, replyText, "sandbox echo event");

    let events = 0;
    const start = performance.now();
    const end = start + throughputMs;
    while (performance.now() < end) {
      last = await executor.run(request);
      events += 1;
    }
    const seconds = (performance.now() - start) / 1000;
    const afterThroughput = rss();
    expectEcho(last, replyText, "sandbox echo event (throughput)");
    if (executor.runnerPids()[0] !== pid) throw new Error("the runner was replaced during the benchmark: its RSS figures would mix two processes");

    return {
      perEventMs: summarize(samples),
      cpuMsPerEvent,
      throughput: { events, seconds, perSecond: events / seconds },
      rss: { ready, warmedUp, afterEvents, afterThroughput },
      runnersStarted: executor.stats.runnersStarted,
    };
  } finally {
    await executor.close();
  }
}
