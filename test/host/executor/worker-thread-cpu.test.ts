// The runner's outside view of its sandbox thread's CPU time (the CPU backstop): a Worker names
// its own thread, and the runner's reader follows that thread's CPU, not the process's.
import { existsSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { processCpuClock } from "../../../host/executor/thread-cpu-clock.js";
import { ownThreadId, threadCpuReader } from "../../../host/executor/worker-thread-cpu.js";

const MODULE = new URL("../../../lib/host/executor/worker-thread-cpu.js", import.meta.url).href;

/** A Worker that tells its thread id, then spins `busyMs` of wall time on each message and says "done". */
function busyWorker(busyMs: number): { worker: Worker; tid: Promise<number | undefined>; done: Promise<void> } {
  const worker = new Worker(
    `const { parentPort } = require("node:worker_threads");
     import(${JSON.stringify(MODULE)}).then(({ ownThreadId }) => {
       parentPort.postMessage({ tid: ownThreadId() });
       // "on", not "once": the listener keeps the thread alive after it spun, so its CPU time can still be read.
       parentPort.on("message", () => { const end = Date.now() + ${busyMs}; while (Date.now() < end) {} parentPort.postMessage({ done: true }); });
     });`,
    { eval: true },
  );
  let tidOf: (tid: number | undefined) => void = () => {};
  let doneOf: () => void = () => {};
  const tid = new Promise<number | undefined>((resolve) => (tidOf = resolve));
  const done = new Promise<void>((resolve) => (doneOf = resolve));
  worker.on("message", (message: { tid?: number; done?: true }) => (message.done ? doneOf() : tidOf(message.tid)));
  return { worker, tid, done };
}

describe("worker thread CPU, read from outside", () => {
  it("a Worker names its own thread, one of this process's tasks (not the main thread)", async () => {
    const { worker, tid } = busyWorker(0);
    try {
      const id = await tid;
      expect(id).toBeTypeOf("number");
      expect(existsSync(`/proc/self/task/${id}`)).toBe(true);
      expect(id).not.toBe(process.pid);
      expect(ownThreadId()).toBe(process.pid); // the main thread's id is the pid
    } finally {
      await worker.terminate();
    }
  });

  it("follows the Worker's CPU time while the main thread idles", async () => {
    const { worker, tid, done } = busyWorker(300);
    try {
      const read = threadCpuReader(await tid);
      expect(read).not.toBe(processCpuClock);
      const before = read();
      worker.postMessage("go");
      await done;
      const used = read() - before;
      // 300 ms of spinning is ~300 ms of CPU on an idle core; on a loaded one less (~100 ms with
      // four busy loops beside it on 2 cores), never more.
      expect(used).toBeGreaterThan(20);
      expect(used).toBeLessThan(400);
    } finally {
      await worker.terminate();
    }
  });

  it("falls back to the process clock with no thread id, or one that is not a thread of this process", () => {
    expect(threadCpuReader(undefined)).toBe(processCpuClock);
    expect(threadCpuReader(2 ** 30)).toBe(processCpuClock);
  });
});
