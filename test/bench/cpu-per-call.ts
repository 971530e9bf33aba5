// CPU per call of one step run alone, sequentially, in this process (process.cpuUsage: main
// thread + libuv pool + kernel, ms), after untimed warm-up calls. PARTS_PROFILE="PREFIX=FILE"
// writes a V8 CPU profile (sampled every 100 µs) of the first step whose label starts with PREFIX.
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { performance } from "node:perf_hooks";

/** A step's cost per call, ms. */
export interface CallCost {
  cpuMs: number;
  sysMs: number;
  wallMs: number;
}

const profiled = new Set<string>();

/** Run `step(i)` for i < warmUp untimed, then n times timed; its CPU and wall time per call. */
export async function cpuPerCall(label: string, n: number, step: (i: number) => Promise<unknown>, warmUp = Math.min(10, n)): Promise<CallCost> {
  for (let i = 0; i < warmUp; i++) await step(i);
  const [prefix, file] = process.env.PARTS_PROFILE?.split("=") ?? [];
  const session = prefix && file && label.startsWith(prefix) && !profiled.has(prefix) ? new Session() : undefined;
  if (session) {
    profiled.add(prefix!);
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 100 });
    await session.post("Profiler.start");
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await step(i);
  const wallMs = (performance.now() - t0) / n;
  const cpu = process.cpuUsage(cpu0);
  if (session) {
    await writeFile(file!, JSON.stringify((await session.post("Profiler.stop")).profile));
    session.disconnect();
  }
  return { cpuMs: (cpu.user + cpu.system) / 1000 / n, sysMs: cpu.system / 1000 / n, wallMs };
}

/**
 * Several steps' CPU per call, measured in turns: `blocks` rounds, each running every step n/blocks
 * times, so load from other processes, GC and CPU frequency fall on all of them alike (the parts a
 * budget derives as differences need that). With PARTS_PROFILE set, one step at a time instead
 * (cpuPerCall), so the profile holds one step's calls only.
 */
export async function cpuPerCallInTurns(
  steps: ReadonlyArray<readonly [string, (i: number) => Promise<unknown>]>,
  n: number,
  blocks = 5,
): Promise<Map<string, CallCost>> {
  const costs = new Map<string, CallCost>();
  if (process.env.PARTS_PROFILE) {
    for (const [label, step] of steps) costs.set(label, await cpuPerCall(label, n, step));
    return costs;
  }
  for (const [, step] of steps) for (let i = 0; i < Math.min(10, n); i++) await step(i);
  const per = Math.max(1, Math.round(n / blocks));
  const totals = new Map<string, { cpu: number; sys: number; wall: number }>(steps.map(([label]) => [label, { cpu: 0, sys: 0, wall: 0 }]));
  for (let block = 0; block < blocks; block++) {
    for (const [label, step] of steps) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = block * per; i < (block + 1) * per; i++) await step(i);
      const cpu = process.cpuUsage(cpu0);
      const total = totals.get(label)!;
      total.cpu += cpu.user + cpu.system;
      total.sys += cpu.system;
      total.wall += performance.now() - t0;
    }
  }
  const calls = per * blocks;
  for (const [label, t] of totals) costs.set(label, { cpuMs: t.cpu / 1000 / calls, sysMs: t.sys / 1000 / calls, wallMs: t.wall / calls });
  return costs;
}
