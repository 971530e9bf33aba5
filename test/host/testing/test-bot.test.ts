// chatbot/testing runs a bot the way the host does: the real sandbox and limits, state applied
// only on ok, stacks in the author's files; only the clock, fetch and state store are fake.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestBot } from "../../../host/testing/index.js";
import type { TestBot, TestEventResult } from "../../../host/testing/index.js";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { botFolder as folderOf } from "../../../host/testing/test-bot.js";
import { botFolder } from "./bot-folder.js";

const HOUR = 3_600_000;
const START = Date.UTC(2025, 0, 1, 10);

const SOURCE = `import { defineBot } from "chatbot/std";

export default defineBot({
  async message(msg, bot) {
    if (msg.reaction) return;
    if (msg.command?.name === "count") {
      const n = ((await bot.state.get<number>("count")) ?? 0) + 1;
      await bot.state.set("count", n);
      await bot.reply("count " + n);
      return;
    }
    if (msg.command?.name === "fail") {
      await bot.state.set("count", 1000);
      await bot.reply("about to fail");
      throw new Error("failing on purpose");
    }
    if (msg.command?.name === "spin") {
      for (;;) {}
    }
    if (msg.command?.name === "where") {
      await bot.reply(JSON.stringify({ chat: msg.chat, from: msg.from, id: msg.id, now: bot.now() }));
      return;
    }
    const file = msg.attachments[0];
    if (file) {
      await bot.reply({ text: file.name + " " + file.type, file: { name: file.name, type: file.type, data: await file.bytes() } });
      return;
    }
    const id = await bot.reply("echo: " + msg.text);
    await bot.send(msg.chat.id, "sent after " + id);
  },
  async tick(bot, tick) {
    const ticks = ((await bot.state.get<number[]>("ticks")) ?? []);
    await bot.state.set("ticks", [...ticks, tick.at]);
  },
  async webxdc(update, bot) {
    await bot.webxdc.send(update.instanceId, { payload: { seen: update.payload }, info: update.from.name + " played" });
  },
});
`;

let bot: TestBot;

beforeAll(async () => {
  bot = await createTestBot({ dir: botFolder(SOURCE, { schedule: "hourly", limits: { cpuMsPerEvent: 200 } }), state: { count: 1 } });
});
afterAll(() => bot.close());

describe("chatbot/testing: messages", () => {
  it("a text message gets the bot's replies in order, with the Message-IDs the bot was given", async () => {
    const result = await bot.message("hello");
    expect(result.status).toBe("ok");
    expect(result.texts[0]).toBe("echo: hello");
    const [reply, sent] = result.messages;
    expect(reply).toMatchObject({ type: "reply", chatId: "alice@example.org" });
    expect(sent).toMatchObject({ type: "send", chatId: "alice@example.org", text: `sent after ${reply!.id}` });
    expect(reply!.id).toMatch(/^<[A-Za-z0-9_-]{32}@example\.org>$/);
  });

  it("a 1:1 chat's id is the sender's address; a named group is a group:<id> chat", async () => {
    const single = JSON.parse((await bot.message("/where", { from: "bob@example.net" })).texts[0]!);
    expect(single.chat).toEqual({ id: "bob@example.net", type: "single", name: "Bob" });
    expect(single.from).toEqual({ addr: "bob@example.net", name: "Bob" });
    expect(single.id).toMatch(/^<.+@example\.net>$/);
    expect(single.now).toBeGreaterThanOrEqual(START);
    const group = JSON.parse((await bot.message("/where", { chat: "Team A" })).texts[0]!);
    expect(group.chat).toEqual({ id: "group:team-a", type: "group", name: "Team A" });
    const byId = JSON.parse((await bot.message("/where", { chat: "group:xyz" })).texts[0]!);
    expect(byId.chat).toMatchObject({ id: "group:xyz", type: "group" });
  });

  it("every message gets a fresh Message-ID unless the test gives one", async () => {
    const a = JSON.parse((await bot.message("/where")).texts[0]!).id;
    const b = JSON.parse((await bot.message("/where")).texts[0]!).id;
    expect(a).not.toBe(b);
    expect(JSON.parse((await bot.message("/where", { id: "<given@x.org>" })).texts[0]!).id).toBe("<given@x.org>");
  });

  it("a file comes back byte for byte, its type guessed from the name when not given", async () => {
    const data = new Uint8Array(256).map((_, i) => i);
    const result = await bot.message("", { files: [{ name: "all-bytes.png", data }] });
    expect(result.texts).toEqual(["all-bytes.png image/png"]);
    expect(result.messages[0]!.file).toEqual({ name: "all-bytes.png", type: "image/png", bytes: data });
  });

  it("a reaction reaches the bot as msg.reaction", async () => {
    const result = await bot.message("👍", { reaction: { emoji: "👍", to: "<m@example.org>" } });
    expect(result.status).toBe("ok");
    expect(result.actions).toEqual([]);
  });
});

describe("chatbot/testing: state", () => {
  it("starts from the options' state and keeps what an ok event stored", async () => {
    bot.state.set("count", 1);
    expect((await bot.message("/count")).texts).toEqual(["count 2"]);
    expect(bot.state.get("count")).toBe(2);
  });

  it("runs events one at a time: messages sent at once each see the state the one before left", async () => {
    bot.state.set("count", 0);
    const results = await Promise.all([bot.message("/count"), bot.message("/count"), bot.message("/count")]);
    expect(results.map((r) => r.texts[0])).toEqual(["count 1", "count 2", "count 3"]);
  });

  it("delete removes one key and clear empties the state, without building the bot again", async () => {
    bot.state.set("count", 3);
    bot.state.set("other", { a: 1 });
    bot.state.delete("count");
    expect(bot.state.all()).toMatchObject({ other: { a: 1 } });
    expect(bot.state.get("count")).toBeUndefined();
    bot.state.clear();
    expect(bot.state.all()).toEqual({});
    expect((await bot.message("/count")).texts).toEqual(["count 1"]);
  });

  it("throws away what a failed event stored, like the host, and reports the error", async () => {
    bot.state.set("count", 5);
    const result = await bot.message("/fail");
    expect(result.status).toBe("bot-error");
    expect(result.error?.message).toMatch(/failing on purpose/);
    expect(bot.state.get("count")).toBe(5);
  });

  it("maps the error's stack to the author's bot.ts, not the bundle", async () => {
    const result = await bot.message("/fail");
    expect(result.error?.stack).toMatch(/bot\.ts:\d+:\d+/);
    expect(result.error?.stack).not.toMatch(/bot\.js/);
  });

  it("reports the limit a bot hit, with the manifest's value", async () => {
    const result = await bot.message("/spin");
    expect(result.status).toBe("cpu-limit");
    expect(result.limit).toEqual({ name: "cpuMsPerEvent", value: 200, unit: "ms" });
  });
});

describe("chatbot/testing: clock and ticks", () => {
  it("advance runs one tick at every hourly boundary passed, at its exact time", async () => {
    bot.state.set("ticks", []);
    bot.clock.set(START + 5 * 60_000); // 10:05
    const results = await bot.advance("2h30m"); // to 12:35: ticks at 11:00 and 12:00
    expect(results.map((r) => r.status)).toEqual(["ok", "ok"]);
    expect(bot.state.get("ticks")).toEqual([START + HOUR, START + 2 * HOUR]);
    expect(bot.clock.now()).toBe(START + 2.5 * HOUR + 5 * 60_000);
  });

  it("advance that stops short of the next boundary runs no tick; reaching it exactly runs one", async () => {
    bot.clock.set(START);
    bot.state.set("ticks", []);
    expect(await bot.advance("59m59s")).toEqual([]);
    expect(await bot.advance("1s")).toHaveLength(1);
    expect(bot.state.get("ticks")).toEqual([START + HOUR]);
  });

  it("bot.now() is the fake clock to the millisecond, however long the event runs", async () => {
    bot.clock.set("2025-02-01T12:00:00.000Z");
    const where = JSON.parse((await bot.message("/where")).texts[0]!) as { now: number };
    expect(where.now).toBe(Date.UTC(2025, 1, 1, 12));
  });

  it("tick runs the handler at the clock's current time", async () => {
    bot.state.set("ticks", []);
    bot.clock.set("2025-03-01T08:30:00Z");
    await bot.tick();
    expect(bot.state.get("ticks")).toEqual([Date.UTC(2025, 2, 1, 8, 30)]);
  });

  it("a daily bot ticks at 00:00 UTC only", async () => {
    const daily = await createTestBot({ dir: botFolder(SOURCE, { schedule: "daily" }) });
    try {
      const results = await daily.advance("2d"); // from 2025-01-01 10:00 to 2025-01-03 10:00
      expect(results).toHaveLength(2);
      expect(daily.state.get("ticks")).toEqual([Date.UTC(2025, 0, 2), Date.UTC(2025, 0, 3)]);
    } finally {
      await daily.close();
    }
  });
});

describe("chatbot/testing: the bot folder", () => {
  it("is found from a path, a file: URL of the folder, or of a file in it (import.meta.url)", () => {
    const dir = botFolder(SOURCE);
    expect(folderOf(dir)).toBe(dir);
    expect(folderOf(pathToFileURL(dir))).toBe(dir);
    expect(folderOf(pathToFileURL(join(dir, "bot.ts")).href)).toBe(dir);
  });
});

describe("chatbot/testing: builds", () => {
  const replyOf = (result: TestEventResult) => (result.actions[0] as { text?: string } | undefined)?.text;
  it("a folder is built once for many test bots, and again when one of its files changes", async () => {
    const dir = botFolder(`import { defineBot } from "chatbot/std";\nexport default defineBot({ async message(msg, bot) { await bot.reply("one"); } });\n`);
    const first = await createTestBot({ dir });
    const built = statSync(join(dir, "dist", "bot.js")).mtimeMs;
    const second = await createTestBot({ dir });
    try {
      expect(replyOf(await second.message("hi"))).toBe("one");
      // Nothing changed: dist/bot.js was not written again.
      expect(statSync(join(dir, "dist", "bot.js")).mtimeMs).toBe(built);
      writeFileSync(join(dir, "bot.ts"), readFileSync(join(dir, "bot.ts"), "utf8").replace('"one"', '"two"'));
      const third = await createTestBot({ dir });
      try {
        expect(replyOf(await third.message("hi"))).toBe("two");
      } finally {
        await third.close();
      }
    } finally {
      await first.close();
      await second.close();
    }
  });
});

describe("chatbot/testing: webxdc", () => {
  it("an update from a user reaches the webxdc handler; the bot's status updates are in the result", async () => {
    const result = await bot.webxdc({ instanceId: "<app@example.org>", payload: { move: "e4" }, from: "bob@example.org", chat: "Chess" });
    expect(result.status).toBe("ok");
    expect(result.webxdc).toEqual([
      { type: "webxdc-status", chatId: "group:chess", instanceId: "<app@example.org>", update: { payload: { seen: { move: "e4" } }, info: "Bob played" } },
    ]);
  });
});
