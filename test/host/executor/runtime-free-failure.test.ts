// A large allocation in a resumed async function or promise callback used to abort QuickJS when the
// runtime was freed ("Assertion failed: list_empty(&rt->gc_obj_list)"). Not the upstream leak the
// first version of this test blamed (quickjs-emscripten#235/#257: with this build both free cleanly
// when nothing else is left behind), but quickjs-emscripten#240: the allocation grows the WASM
// memory inside executePendingJobs, the library reads the job's context pointer through a detached
// view and creates a stray context that nobody freed (job-context.ts pins it to the event's own).
// Now such an event ends ok, its runtime is freed, the slot is reused, and nothing reaches stderr.
import { afterAll, beforeAll, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import { hostLauncher } from "../../support/host-walls.js";
import { runInIsolate } from "../../../host/executor/isolate-run.js";
import { compileQuickJSWasm, createModuleSlot } from "../../../host/executor/module-slot.js";
import { processCpuClock } from "../../../host/executor/thread-cpu-clock.js";
import { botWithMessageHandler, request } from "../../support/sandbox.js";

let executor: Executor;
let stderr = "";
beforeAll(async () => {
  executor = new Executor({ onRunnerStderr: (text) => (stderr += text), launcher: await hostLauncher() });
  await executor.warmUp();
});
afterAll(() => executor.close());

it("an event that allocates a lot after an await ends ok, its runtime is freed, and the next event runs normally in the same runner", async () => {
  const leaky = request(botWithMessageHandler(`await 0; const big = new Array(2_000_000).fill(1); await bot.reply("filled " + big.length);`));
  const plain = request(botWithMessageHandler(`await bot.reply("after: " + msg.text);`));
  const [pid] = executor.runnerPids();
  for (let round = 0; round < 3; round++) {
    const first = await executor.run(leaky);
    expect(first.status, first.error?.message).toBe("ok");
    expect(first.actions).toMatchObject([{ type: "reply", text: "filled 2000000" }]);
    const next = await executor.run(plain);
    expect(next.status, next.error?.message).toBe("ok");
    expect(next.actions).toMatchObject([{ type: "reply", text: expect.stringMatching(/^after: /) }]);
  }
  expect(executor.runnerPids()).toEqual([pid]);
  // The runtime was freed each time, so the worker kept its module (a leak would reset it).
  expect(executor.stats, executor.stats.lastSandboxReset).toMatchObject({ runnersStarted: 1, runnersKilled: 0, runnersCrashed: 0, sandboxResets: 0 });
  expect(stderr).not.toContain("Aborted(");
});

it("in process, the runtime of such an event is freed and its slot stays usable", async () => {
  const slot = await createModuleSlot(compileQuickJSWasm(), 32 * 1024 * 1024);
  const noFetch = () => Promise.reject(new Error("no fetch here"));
  for (const body of [
    `await 0; const big = new Array(2_000_000).fill(1); await bot.reply("filled " + big.length);`,
    `await Promise.resolve().then(() => new Uint8Array(8_000_000)); await bot.reply("done");`,
  ]) {
    const outcome = await runInIsolate(slot, request(botWithMessageHandler(body), { limits: { memoryBytes: 32 * 1024 * 1024 } }), noFetch, processCpuClock);
    expect(outcome.result.status, outcome.result.error?.message).toBe("ok");
    expect(outcome.slotHealthy, `runtime freed after: ${body}`).toBe(true);
  }
});

it("a bot that keeps everything reachable until it runs out of memory (quickjs-emscripten#257's pattern) ends with memory-limit, not a crashed runner", async () => {
  // Reading the heap's size at the end used to trap in the module's C code (its own malloc failed)
  // and crash the worker: the event was lost as E_RUNNER.
  for (const body of [
    `globalThis.keep = []; for (;;) globalThis.keep.push("x".repeat(100) + globalThis.keep.length);`,
    `globalThis.keep = []; await 0; for (;;) globalThis.keep.push("x".repeat(100) + globalThis.keep.length);`,
  ]) {
    const result = await executor.run(request(botWithMessageHandler(body), { limits: { memoryBytes: 32 * 1024 * 1024 } }));
    expect(result.status, result.error?.message).toBe("memory-limit");
    expect(result.memoryBytes).toBe(32 * 1024 * 1024);
    const next = await executor.run(request(botWithMessageHandler(`await bot.reply("after");`)));
    expect(next.status, next.error?.message).toBe("ok");
  }
  expect(executor.stats).toMatchObject({ runnersKilled: 0, runnersCrashed: 0 });
  expect(stderr).not.toContain("Aborted(");
});
