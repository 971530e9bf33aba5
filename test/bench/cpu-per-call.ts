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
