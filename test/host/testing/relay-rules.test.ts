// chatbot/testing applies the relay's rules (host/service/event-pipeline.ts) so a test sees what a
// relay would do: a bot writes only to chats that wrote to it (knownChats for those that wrote
// before the test), /stop and /start are the host's, and the manifest's per-user limits refuse
// with one notice per window, on the fake clock.
import { afterEach, describe, expect, it } from "vitest";
import { createTestBot, type TestBot } from "../../../host/testing/index.js";
import { START_TEXT, STOP_TEXT } from "../../../host/policy/consent.js";
import { REPORT_TEXT } from "../../../host/policy/report-command.js";
import { botFolder } from "./bot-folder.js";

const SOURCE = `import { defineBot } from "chatbot/std";

export default defineBot({
  async message(msg, bot) {
    await bot.reply("hi " + msg.from.addr);
    await bot.send("bob@example.org", "tell Bob");
  },
  async tick(bot) {
    await bot.send("bob@example.org", "tick for Bob");
    await bot.send("group:club", "tick for the club");
  },
});
`;

let bot: TestBot | undefined;
afterEach(async () => {
  await bot?.close();
  bot = undefined;
});

describe("test kit: the relay's rules", () => {
  it("consent: a send to a chat that never wrote is refused, not returned; once Bob writes, it goes out", async () => {
    bot = await createTestBot({ dir: botFolder(SOURCE) });
    const first = await bot.message("hello");
    expect(first.texts).toEqual(["hi alice@example.org"]);
    expect(first.refused).toEqual([{ chatId: "bob@example.org", type: "send", code: "E_NO_CONSENT" }]);
    // The kept reply keeps its run index: its Message-ID is the one the bot was handed.
    expect(first.actions).toHaveLength(1);
    await bot.message("hi", { from: "bob@example.org" });
    expect((await bot.message("again")).texts).toEqual(["hi alice@example.org", "tell Bob"]);
  });

  it("knownChats: chats that wrote before the test may be written to from the first event (a tick here)", async () => {
    bot = await createTestBot({ dir: botFolder(SOURCE), knownChats: ["Bob@Example.org", "group:club"] });
    const tick = await bot.tick();
    expect(tick.texts).toEqual(["tick for Bob", "tick for the club"]);
    expect(tick.refused).toEqual([]);
  });

  it("/stop and /start are answered by the host, not the bot; a stopped person gets nothing until /start", async () => {
    bot = await createTestBot({ dir: botFolder(SOURCE), knownChats: ["bob@example.org"] });
    const stop = await bot.message("/stop", { from: "bob@example.org" });
    expect(stop).toMatchObject({ status: "answered", actions: [], texts: [], answer: { text: STOP_TEXT, refusal: { kind: "consent", command: "stop" } } });
    expect((await bot.tick()).refused).toEqual([
      { chatId: "bob@example.org", type: "send", code: "E_STOPPED" },
      { chatId: "group:club", type: "send", code: "E_NO_CONSENT" },
    ]);
    expect((await bot.message("/start", { from: "bob@example.org" })).answer?.text).toBe(START_TEXT);
    expect((await bot.tick()).texts).toEqual(["tick for Bob"]);
  });

  it("per-user limits: at the manifest's mailsPerHour the bot runs, one over the host answers once, then silently; an hour (and a bucket) later it runs again", async () => {
    bot = await createTestBot({ dir: botFolder(SOURCE, { limits: { perUser: { mailsPerHour: 2 } } }) });
    expect((await bot.message("1")).status).toBe("ok");
    expect((await bot.message("2")).status).toBe("ok");
    const over = await bot.message("3");
    expect(over).toMatchObject({ status: "answered", texts: [], answer: { refusal: { kind: "per-user-limit", limit: "mailsPerHour" } } });
    expect(over.answer?.text).toContain("limit of 2 messages per hour");
    expect((await bot.message("4")).answer).toMatchObject({ text: "", refusal: { kind: "per-user-limit", limit: "mailsPerHour" } });
    // Another person has their own count.
    expect((await bot.message("1", { from: "bob@example.org" })).status).toBe("ok");
    // Counted in one-minute buckets (policy/rolling-window.ts): the first mails leave the hour after 61 minutes.
    bot.clock.advance("61m");
    expect((await bot.message("5")).status).toBe("ok");
  });

  it("/report is the host's: the test kit shows the host's answer and the bot does not run", async () => {
    bot = await createTestBot({ dir: botFolder(SOURCE) });
    const reported = await bot.message("/report it spams");
    expect(reported.answer).toMatchObject({ text: REPORT_TEXT, refusal: { kind: "report" } });
    expect(reported.texts).toEqual([]);
  });
});
