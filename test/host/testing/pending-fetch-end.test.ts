// Issue 9 defect 4 through the test kit: after an event that ended while recorded fetches were in
// flight, every later event of the same test bot failed ("Lifetime not alive"). Each ending below is
// followed by normal events of the same bot, which must keep working.
import { afterAll, describe, expect, it } from "vitest";
import { createTestBot, type TestBot } from "../../../host/testing/index.js";
import { botFolder } from "./bot-folder.js";

const URL = "https://api.example.org/data";
const MiB = 1024 * 1024;

const source = (ending: string) => `import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    if (msg.text === "go") {
      for (let i = 0; i < 3; i++) bot.fetch("${URL}?" + i).catch(() => undefined);
      ${ending}
    }
    const res = await bot.fetch("${URL}");
    await bot.reply("next " + (await res.text()));
  },
});
`;

const endings: Array<{ name: string; status: string; body: string; limits?: Record<string, number> }> = [
  { name: "returns", status: "ok", body: `return;` },
  { name: "throws", status: "bot-error", body: `throw new Error("boom");` },
  { name: "uses up its CPU budget", status: "cpu-limit", body: `for (;;) {}`, limits: { cpuMsPerEvent: 50 } },
  // CPU time never exceeds wall time, so with both budgets at 1000 ms the wall budget ends the loop.
  { name: "uses up its wall budget", status: "wall-limit", body: `for (;;) {}`, limits: { wallMsPerEvent: 1000, cpuMsPerEvent: 1000 } },
  { name: "writes past its log cap", status: "output-limit", body: `for (let i = 0; ; i++) console.log("line " + i + "x".repeat(100));` },
  {
    name: "runs out of memory",
    status: "memory-limit",
    body: `const a: string[] = []; for (;;) a.push("x".repeat(1e5) + a.length);`,
    limits: { memoryBytes: 24 * MiB },
  },
];

const bots: TestBot[] = [];
afterAll(async () => {
  await Promise.all(bots.map((bot) => bot.close()));
});

describe("chatbot/testing: an event that ends while recorded fetches are in flight", () => {
  for (const ending of endings) {
    it(`a bot that ${ending.name} with 3 fetches in flight gets its status, and its next events work`, async () => {
      const bot = await createTestBot({ dir: botFolder(source(ending.body), { origins: ["https://api.example.org"], limits: ending.limits ?? {} }) });
      bots.push(bot);
      bot.fetch.on(URL, "data");
      for (let i = 0; i < 3; i++) bot.fetch.on(`${URL}?${i}`, `data ${i}`);
      const ended = await bot.message("go");
      expect(ended.status, ended.error?.message).toBe(ending.status);
      for (let round = 0; round < 2; round++) {
        const next = await bot.message("next");
        expect(next.status, next.error?.message).toBe("ok");
        expect(next.texts).toEqual(["next data"]);
      }
    });
  }
});
