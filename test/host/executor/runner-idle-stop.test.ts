// An executor with idleStopMs (what `host serve` passes: RUNNER_IDLE_STOP_MS) stops its runners
// once none has had an event for that long, and the next event starts a new one: a host at rest
// holds no runner process. An event still running when the time is up keeps its runner.
import { afterEach, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import { until } from "../../support/poll.js";
import { botWithMessageHandler, request } from "../../support/sandbox.js";

/** Short, so the test waits little; the host's own value is RUNNER_IDLE_STOP_MS. */
const IDLE_STOP_MS = 400;
const echo = request(botWithMessageHandler(`await bot.reply("echo: " + msg.text);`));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let executor: Executor | undefined;
afterEach(async () => {
  await executor?.close();
  executor = undefined;
});

it("idle for idleStopMs: the runner process is stopped; the next event starts another and runs", async () => {
  executor = new Executor({ idleStopMs: IDLE_STOP_MS });
  expect((await executor.run(echo)).status).toBe("ok");
  const [first] = executor.runnerPids();
  expect(first).toBeGreaterThan(0);
  await until(() => executor!.runnerPids().length === 0 && !alive(first!), "the idle runner to stop", 5000);
  const result = await executor.run(echo);
  expect(result.status).toBe("ok");
  expect(executor.runnerPids()).toHaveLength(1);
  expect(executor.runnerPids()[0]).not.toBe(first);
  expect(executor.stats.runnersStarted).toBe(2);
  // Stopping an idle runner is not a crash or a kill of a stuck guest.
  expect(executor.stats).toMatchObject({ runnersCrashed: 0, runnersKilled: 0 });
});

it("an event that runs longer than idleStopMs keeps its runner; events closer together than it keep one runner", async () => {
  executor = new Executor({ idleStopMs: IDLE_STOP_MS });
  const slow = request(botWithMessageHandler(`const end = Date.now() + ${IDLE_STOP_MS * 2}; while (Date.now() < end) {} await bot.reply("done");`), {
    limits: { cpuMsPerEvent: 10_000, wallMsPerEvent: 10_000 },
  });
  expect((await executor.run(echo)).status).toBe("ok");
  const [pid] = executor.runnerPids();
  expect((await executor.run(slow)).status).toBe("ok");
  // 80 ms apart: five times closer than IDLE_STOP_MS, room for a loaded machine's late timers.
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, IDLE_STOP_MS / 5));
    expect((await executor.run(echo)).status).toBe("ok");
  }
  expect(executor.runnerPids()).toEqual([pid]);
  expect(executor.stats.runnersStarted).toBe(1);
});

it("without idleStopMs the runner stays", async () => {
  executor = new Executor();
  expect((await executor.run(echo)).status).toBe("ok");
  const [pid] = executor.runnerPids();
  await new Promise((resolve) => setTimeout(resolve, IDLE_STOP_MS * 2));
  expect(executor.runnerPids()).toEqual([pid]);
  expect(alive(pid!)).toBe(true);
});
