// The sandbox Worker's CPU time, read from the runner's main thread (the CPU backstop in
// runner-process.ts). The guest measures itself on its own thread (thread-cpu-clock.ts); this is
// the outside view, for a guest stuck where its own interrupt handler is never asked. Linux gives
// every thread's CPU time in /proc/self/task/TID/schedstat (first field, ns; it advances at
// scheduler ticks, ~4 ms steps: fine for a check against a budget plus 1 s). The Worker tells its
// TID from /proc/thread-self (a link to "PID/task/TID"); where that is missing, the process clock.
import { readFileSync, readlinkSync } from "node:fs";
import { processCpuClock, type CpuClock } from "./thread-cpu-clock.js";

/** On the Worker: this thread's id in /proc, or undefined where /proc has none (not Linux). */
export function ownThreadId(): number | undefined {
  try {
    const match = /\/task\/(\d+)$/.exec(readlinkSync("/proc/thread-self"));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** On the runner: a clock of thread `tid`'s CPU time, ms; the process clock when it cannot be read. */
export function threadCpuReader(tid: number | undefined): CpuClock {
  if (tid === undefined) return processCpuClock;
  const path = `/proc/self/task/${tid}/schedstat`;
  const read = (): number => Number(readFileSync(path, "latin1").split(" ", 1)[0]) / 1e6;
  try {
    if (!Number.isFinite(read())) return processCpuClock;
  } catch {
    return processCpuClock;
  }
  // A thread that exited (the worker was replaced) reads as no CPU more: the backstop then waits for the event's end.
  let last = 0;
  return () => {
    try {
      last = read();
    } catch {
      // keep the last reading
    }
    return last;
  };
}
