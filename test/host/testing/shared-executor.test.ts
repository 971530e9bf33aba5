// The test kit's shared sandbox executor (host/testing/shared-executor.ts): test bots of one test
// process share one runner process while any is open, and it closes a second after the last.
import { describe, expect, it } from "vitest";
import { acquireExecutor } from "../../../host/testing/shared-executor.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the test kit's shared executor", () => {
  it("two bots open at once get the same executor; a bot opened right after the last closed still gets it", async () => {
    const first = acquireExecutor();
    const second = acquireExecutor();
    expect(second.executor).toBe(first.executor);
    await first.release();
    await second.release();
    const next = acquireExecutor();
    expect(next.executor).toBe(first.executor);
    await next.release();
  });

  it("a second after the last bot closed, the executor is closed and the next bot gets a new one", async () => {
    const only = acquireExecutor();
    await only.executor.warmUp();
    const [pid] = only.executor.runnerPids();
    await only.release();
    await only.release(); // twice is once
    await sleep(1_500);
    await expect(only.executor.run({} as never)).rejects.toMatchObject({ code: "E_RUNNER_UNAVAILABLE" });
    expect(() => process.kill(pid!, 0)).toThrow();
    const fresh = acquireExecutor();
    expect(fresh.executor).not.toBe(only.executor);
    await fresh.release();
  });
});
