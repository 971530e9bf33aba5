// Small statistics and measurement helpers for the benchmark: nothing here judges a number.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** Order statistics of one measured quantity, in the unit it was sampled in. */
export interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  mean: number;
}

/** Median, p95 (nearest rank), min and mean of the samples. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { n: 0, median: NaN, p95: NaN, min: NaN, mean: NaN };
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return { n: sorted.length, median: rank(0.5), p95: rank(0.95), min: sorted[0]!, mean };
}

/** How many times to run a measurement: `n` samples, but stop early once `maxMs` of wall time is spent. */
export interface SampleBudget {
  n: number;
  maxMs: number;
  /** Untimed runs first (JIT, caches, lazy initialisation). */
  warmUp?: number;
}

/** Run `fn` under the budget and return the wall time of each timed run, ms. */
export async function sampleMs(budget: SampleBudget, fn: () => unknown): Promise<number[]> {
  for (let i = 0; i < (budget.warmUp ?? 0); i++) await fn();
  const samples: number[] = [];
  const stopAt = performance.now() + budget.maxMs;
  while (samples.length < budget.n && performance.now() < stopAt) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Resident set size of a process from /proc/<pid>/status, in bytes (VmRSS now, VmHWM its peak). */
export function processRss(pid: number): { rssBytes: number; peakBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssBytes: kib("VmRSS") * 1024, peakBytes: kib("VmHWM") * 1024 };
}

/** CPU time (user + system) a process has used so far, ms, from /proc/<pid>/stat (10 ms ticks). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const CLOCK_TICKS_PER_S = 100;
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}
