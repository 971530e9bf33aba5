// Issue 9 defect 4: an event that ends (returns, throws or hits a limit) while bot.fetch calls are
// still in flight used to leave the host's promise handles alive when the QuickJS runtime was freed:
// JS_FreeRuntime aborted ("Aborted(Assertion failed: list_empty(&rt->gc_obj_list))"), results could
// be lost, later events failed. Performed for real: a loopback server that answers late, 1 and 3
// fetches in flight, each ending followed by a normal event on the same runner.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import { hostLauncher } from "../../support/host-walls.js";
import type { EventLimits } from "../../../core/limits.js";
import type { RunResult } from "../../../host/executor/run-types.js";
import { botWithMessageHandler, messageAt, request } from "../../support/sandbox.js";
import { startHttpServer, type TestServer } from "../../support/test-servers.js";

/** How long the slow endpoint waits before it answers, ms: longer than every ending below takes. */
const SLOW_MS = 300;

let executor: Executor;
let server: TestServer;
let stderr = "";

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    if (req.url?.startsWith("/slow")) {
      setTimeout(() => res.end("late"), SLOW_MS);
      return;
    }
    res.end("fast");
  });
  executor = new Executor({ onRunnerStderr: (text) => (stderr += text), launcher: await hostLauncher() });
  await executor.warmUp();
});
afterAll(async () => {
  await executor.close();
  await server.close();
});

const origin = () => `http://127.0.0.1:${server.port}`;
const fetchPolicy = () => ({ allowOrigins: [origin()], allowHttpLoopback: true });

/** Start `n` fetches of the slow endpoint without awaiting them. */
const startFetches = (n: number) =>
  `const pending = []; for (let i = 0; i < ${n}; i++) pending.push(bot.fetch("${origin()}/slow?" + i).then((r) => r.text(), (e) => e.code));`;

const endings: Array<{ name: string; status: RunResult["status"]; body: string; limits?: Partial<EventLimits> }> = [
  { name: "returns", status: "ok", body: `await bot.reply("returned");` },
  { name: "throws", status: "bot-error", body: `throw new Error("boom");` },
  { name: "uses up its CPU budget", status: "cpu-limit", body: `for (;;) {}`, limits: { cpuMsPerEvent: 50 } },
  { name: "uses up its wall budget waiting", status: "wall-limit", body: `await Promise.all(pending);`, limits: { wallMsPerEvent: 100 } },
  { name: "writes past its log cap", status: "output-limit", body: `for (let i = 0; ; i++) console.log("line " + i + "x".repeat(100));` },
  {
    name: "runs out of memory",
    status: "memory-limit",
    body: `const a = []; for (;;) a.push("x".repeat(1e5) + a.length);`,
    limits: { memoryBytes: 24 * 1024 * 1024 },
  },
];

/** A normal event: it fetches (overlapping the late answers of the event before) and replies. */
async function normalEventWorks(): Promise<void> {
  const next = await executor.run(
    request(botWithMessageHandler(`const r = await bot.fetch("${origin()}/fast"); await bot.reply("next " + r.status + " " + (await r.text()));`), {
      fetch: fetchPolicy(),
    }),
  );
  expect(next.status, next.error?.message).toBe("ok");
  expect(messageAt(next)?.text).toBe("next 200 fast");
}

describe("sandbox: an event that ends while bot.fetch calls are in flight", () => {
  for (const fetches of [1, 3]) {
    for (const ending of endings) {
      it(`a bot that ${ending.name} with ${fetches} fetch(es) in flight gets its typed result, and the runner's next event works`, async () => {
        const [pid] = executor.runnerPids();
        const result = await executor.run(
          request(botWithMessageHandler(`${startFetches(fetches)} ${ending.body}`), { fetch: fetchPolicy(), limits: ending.limits ?? {} }),
        );
        expect(result.status, result.error?.message).toBe(ending.status);
        expect(result.fetch.count).toBe(fetches);
        if (ending.status === "ok") expect(messageAt(result)?.text).toBe("returned");
        await normalEventWorks();
        expect(executor.runnerPids()).toEqual([pid]);
      });
    }
  }

  it("answers that arrive after their event ended (recorded fetches, which no abort stops) touch nothing", async () => {
    const url = "https://api.example.org/data";
    const recorded = [{ url, status: 200, headers: { "content-type": "text/plain" }, bodyBase64: Buffer.from("data").toString("base64") }];
    for (const body of [`bot.fetch("${url}"); bot.fetch("${url}"); throw new Error("gone");`, `bot.fetch("${url}"); return;`]) {
      const ended = await executor.run(
        request(botWithMessageHandler(body), { fetch: { allowOrigins: ["https://api.example.org"], allowHttpLoopback: false } }),
        { recorded },
      );
      expect(ended.status, ended.error?.message).toMatch(/^(ok|bot-error)$/);
      await normalEventWorks();
    }
  });

  it("no runner crashed or was killed, every runtime was freed, and no runner wrote a QuickJS abort to stderr", () => {
    expect(executor.stats, executor.stats.lastSandboxReset).toMatchObject({ runnersStarted: 1, runnersKilled: 0, runnersCrashed: 0, sandboxResets: 0 });
    expect(stderr).not.toContain("Aborted(");
  });
});
