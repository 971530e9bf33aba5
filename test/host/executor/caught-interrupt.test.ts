// A bot that catches its own interruption. QuickJS's interrupt is uncatchable inside one function,
// but when it leaves an async function it becomes an ordinary rejection, which the bot can catch
// and loop on. Before the fix each of these ran on a 200 ms CPU budget until the watchdog killed
// the runner at wall + 1 s. Now the event ends with cpu-limit shortly after the budget: the driver
// runs promise jobs in batches and checks the budget between them, and a guest that still runs
// INTERRUPTED_STOP_GRACE_MS after its interruption has its sandbox thread stopped by the runner.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import { hostLauncher } from "../../support/host-walls.js";
import { INTERRUPTED_STOP_GRACE_MS } from "../../../core/limits.js";
import { botWithMessageHandler, request } from "../../support/sandbox.js";

const CPU_BUDGET_MS = 200;
// The watchdog would fire at wall + 1 s = 21 s: the bound below is far from it yet generous for a
// loaded 2-core machine (budget + stop grace + 4 s).
const WALL_BUDGET_MS = 20_000;
const ENDS_WITHIN_MS = CPU_BUDGET_MS + INTERRUPTED_STOP_GRACE_MS + 4_000;

let executor: Executor;
beforeAll(async () => {
  executor = new Executor({ launcher: await hostLauncher() });
  await executor.warmUp();
});
afterAll(() => executor.close());

const attacks: Array<[string, string]> = [
  ["awaits an async busy loop and catches its rejection, forever", `for (;;) { try { await (async () => { for (;;) {} })(); } catch {} }`],
  ["calls an async busy loop without awaiting it, forever (no promise job in between)", `for (;;) { (async () => { for (;;) {} })().catch(() => {}); }`],
  [
    "re-queues an async busy loop from inside each rejection handler",
    `const spin = () => (async () => { for (;;) {} })().catch(spin); spin(); await new Promise(() => { spin(); });`,
  ],
  ["catches the interruption at the top level of the bundle", `/* handler unused */`],
];

describe("sandbox: a bot that catches its interruption", () => {
  for (const [name, body] of attacks) {
    it(`ends with cpu-limit soon after its budget when it ${name}`, async () => {
      const [pid] = executor.runnerPids();
      const bundle =
        body === "/* handler unused */"
          ? { ...botWithMessageHandler(`await bot.reply("never");`), code: `for (;;) { (async () => { for (;;) {} })().catch(() => {}); }` }
          : botWithMessageHandler(body);
      const result = await executor.run(request(bundle, { limits: { cpuMsPerEvent: CPU_BUDGET_MS, wallMsPerEvent: WALL_BUDGET_MS } }));
      expect(result.status, result.error?.message).toBe("cpu-limit");
      expect(result.limit).toEqual({ name: "cpuMsPerEvent", value: CPU_BUDGET_MS, unit: "ms" });
      expect(result.actions).toEqual([]);
      expect(result.wallMs).toBeLessThan(ENDS_WITHIN_MS);
      expect(result.cpuMs).toBeLessThanOrEqual(result.wallMs);
      // The runner stopped only its sandbox thread; the watchdog never had to kill the runner.
      expect(executor.runnerPids()).toEqual([pid]);
      expect(executor.stats).toMatchObject({ runnersKilled: 0, runnersCrashed: 0, sandboxResets: 0 });
      const next = await executor.run(request(botWithMessageHandler(`await bot.reply("after: " + msg.text);`)));
      expect(next.status, next.error?.message).toBe("ok");
      expect(next.actions).toMatchObject([{ type: "reply", text: "after: hello" }]);
    });
  }
});
