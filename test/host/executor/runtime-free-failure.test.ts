// QuickJS 0.32 (quickjs-emscripten#235, #257) can leave objects behind when a runtime is freed
// after a large allocation in a resumed async function: JS_FreeRuntime's leak assertion aborts the
// WASM module. The event itself ran fine, so it must end ok; the slot is never reused, and the next
// event runs in a fresh one, in the same runner.
import { afterAll, beforeAll, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import { botWithMessageHandler, request } from "../../support/sandbox.js";

let executor: Executor;
beforeAll(async () => {
  executor = new Executor();
  await executor.warmUp();
});
afterAll(() => executor.close());

it("an event whose runtime QuickJS cannot free still ends ok, and the next event runs normally in the same runner", async () => {
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
  expect(executor.stats).toMatchObject({ runnersStarted: 1, runnersKilled: 0, runnersCrashed: 0 });
});
