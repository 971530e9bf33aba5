// No QuickJS runtime or context leaks across 10 000 events: the runner's memory stays flat.
import { readFileSync } from "node:fs";
import { afterAll, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import { botWithMessageHandler, request } from "../../support/sandbox.js";

const executor = new Executor();
afterAll(() => executor.close());

/** Resident set size of a process, bytes (Linux /proc). */
function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) * 1024;
}

it("10 000 events leave the runner's memory flat and reuse one runner", { timeout: 240_000 }, async () => {
  // Each event allocates objects, strings, closures, promises and state, so a leak would show.
  const bundle = botWithMessageHandler(`
    const junk = []; for (let i = 0; i < 200; i++) junk.push({ i, s: "x" + i, f: () => i });
    await Promise.all(junk.slice(0, 10).map(async (j) => j.i));
    await bot.state.set("n", ((await bot.state.get("n")) ?? 0) + 1);
    await bot.reply("echo: " + msg.text + junk.length);`);
  const one = request(bundle);
  await executor.warmUp();
  const [pid] = executor.runnerPids();
  // RSS moves with V8's garbage collector (±20 MiB seen here), so compare peaks: the highest
  // sample of the second half against the highest of the first. A leak raises the peak steadily;
  // 2 KB per event would add ~10 MiB over the second half.
  const samples: number[] = [];
  for (let i = 1; i <= 10_000; i++) {
    const result = await executor.run(one);
    if (result.status !== "ok") throw new Error(`event ${i} ended ${result.status}: ${result.error?.message}`);
    if (i % 500 === 0) samples.push(rssBytes(pid!));
  }
  const firstHalfPeak = Math.max(...samples.slice(2, 10)); // events 1 500–5 000 (after warm-up)
  const secondHalfPeak = Math.max(...samples.slice(10)); // events 5 500–10 000
  expect(executor.runnerPids()).toEqual([pid]);
  expect(executor.stats).toMatchObject({ runnersStarted: 1, runnersKilled: 0, runnersCrashed: 0 });
  expect(secondHalfPeak - firstHalfPeak).toBeLessThan(8 * 1024 * 1024);
});
