// The reminder bot's tests. chatbot/testing runs every event in the same sandbox, with the same
// limits, as a relay does; its fake clock starts at 2025-01-01 10:00 UTC and `advance` runs the
// hourly tick at every full hour it passes (a relay moves the minute per bot). Run: npm test
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestBot, type TestBot, type TestEventResult } from "chatbot/testing";
import { formatDuration, formatUtc, parseLeadingDuration } from "./when.js";

let bot: TestBot;

beforeEach(async () => {
  bot = await createTestBot({ dir: import.meta.url });
});
afterEach(() => bot.close());

/** Every text the ticks of `results` sent, with its chat. */
function sent(results: TestEventResult[]): Array<[string, string]> {
  return results.flatMap((r) => r.messages.map((m): [string, string] => [m.chatId, m.text]));
}

describe("reminder bot: durations", () => {
  it("reads the durations people write, and the text after them", () => {
    const HOUR = 3_600_000;
    expect(parseLeadingDuration("2h tea")).toEqual({ ms: 2 * HOUR, rest: "tea" });
    expect(parseLeadingDuration("30m call Bob")).toEqual({ ms: HOUR / 2, rest: "call Bob" });
    expect(parseLeadingDuration("1h30m x")).toEqual({ ms: 1.5 * HOUR, rest: "x" });
    expect(parseLeadingDuration("1h 30min x")).toEqual({ ms: 1.5 * HOUR, rest: "x" });
    expect(parseLeadingDuration("in 2 hours x")).toEqual({ ms: 2 * HOUR, rest: "x" });
    expect(parseLeadingDuration("1d")).toEqual({ ms: 24 * HOUR, rest: "" });
    expect(parseLeadingDuration("1w 2d y")).toEqual({ ms: 9 * 24 * HOUR, rest: "y" });
    expect(parseLeadingDuration("5 meetings")).toBeUndefined();
    expect(parseLeadingDuration("tomorrow tea")).toBeUndefined();
    expect(parseLeadingDuration("")).toBeUndefined();
  });

  it("writes durations and UTC times for people", () => {
    const now = Date.UTC(2025, 0, 1, 10);
    expect(formatDuration(90 * 60_000)).toBe("1 h 30 min");
    expect(formatUtc(Date.UTC(2025, 0, 1, 12, 30), now)).toBe("12:30 UTC");
    expect(formatUtc(Date.UTC(2025, 0, 2, 9, 5), now)).toBe("Thu 2 Jan 09:05 UTC");
    expect(formatUtc(Date.UTC(2026, 0, 2, 9, 5), now)).toBe("Fri 2 Jan 2026 09:05 UTC");
  });
});

describe("reminder bot: commands", () => {
  it("/remind confirms, honest about the hourly check", async () => {
    const { texts } = await bot.message("/remind 90m stretch");
    expect(texts).toEqual([
      'Reminder #1 set: "stretch", due in 1 h 30 min at 11:30 UTC. I look at reminders once an hour, so it arrives between 11:30 UTC and 12:30 UTC.',
    ]);
  });

  it("/remind without a duration or a text, too soon or too far, says what to do", async () => {
    expect((await bot.message("/remind")).texts[0]).toContain("/remind 2h tea");
    expect((await bot.message("/remind tomorrow tea")).texts[0]).toContain("/remind 2h tea");
    expect((await bot.message("/remind 2h")).texts[0]).toMatch(/^What should I remind you of\?/);
    expect((await bot.message("/remind 0m now")).texts[0]).toMatch(/^That is less than a minute/);
    expect((await bot.message("/remind 400d later")).texts).toEqual(["I keep reminders for at most a year."]);
    expect((await bot.message(`/remind 1h ${"x".repeat(281)}`)).texts[0]).toContain("longer than 280 characters");
    expect(bot.state.all()).toEqual({});
  });

  it("/reminders lists the sender's reminders in this chat, soonest first", async () => {
    await bot.message("/remind 1d water plants");
    await bot.message("/remind 2h tea");
    await bot.message("/remind 3h in the team", { chat: "Team" });
    await bot.message("/remind 4h bob's", { from: "bob@example.org" });
    expect((await bot.message("/reminders")).texts[0]).toBe(
      [
        "Your reminders in this chat (each arrives within the hour after its time):",
        "#2 12:00 UTC — tea",
        "#1 Thu 2 Jan 10:00 UTC — water plants",
        "",
        "/cancel N cancels one.",
      ].join("\n"),
    );
    expect((await bot.message("/reminders", { from: "carol@example.org" })).texts).toEqual(["You have no reminders in this chat. /remind 2h tea sets one."]);
  });

  it("/cancel N cancels one; its number is free again; /cancel all cancels the rest", async () => {
    await bot.message("/remind 1h a");
    await bot.message("/remind 2h b");
    await bot.message("/remind 3h c");
    expect((await bot.message("/cancel 2")).texts).toEqual(['Cancelled reminder #2: "b".']);
    expect((await bot.message("/cancel 2")).texts[0]).toBe("You have no reminder #2 in this chat. /reminders lists them.");
    expect((await bot.message("/cancel x")).texts[0]).toContain("/cancel 1");
    expect((await bot.message("/remind 4h d")).texts[0]).toMatch(/^Reminder #2 set: "d"/);
    // Another person cannot cancel Alice's reminders.
    expect((await bot.message("/cancel 1", { from: "bob@example.org" })).texts[0]).toContain("no reminder #1");
    expect((await bot.message("/cancel all")).texts).toEqual(["Cancelled your 3 reminders in this chat."]);
    expect(bot.state.all()).toEqual({});
    expect(sent(await bot.advance("5h"))).toEqual([]);
  });

  it("keeps at most 20 reminders per person", async () => {
    for (let i = 1; i <= 20; i++) expect((await bot.message(`/remind ${i}h r${i}`)).texts[0]).toMatch(/^Reminder #/);
    expect((await bot.message("/remind 1h one more")).texts[0]).toMatch(/^You have 20 reminders waiting, the most I keep per person/);
    expect((await bot.message("/remind 1h mine", { from: "bob@example.org" })).texts[0]).toMatch(/^Reminder #1 set/);
  });

  it("holds at most 1000 reminders in all", async () => {
    const full: Record<string, unknown> = {};
    const due = Date.UTC(2025, 0, 2);
    for (let person = 1; person <= 50; person++) {
      full[`user:p${person}@example.org`] = Array.from({ length: 20 }, (_, i) => ({
        id: i + 1,
        chatId: `p${person}@example.org`,
        name: "P",
        text: "x",
        due,
        created: due,
      }));
    }
    const busy = await createTestBot({ dir: import.meta.url, state: full });
    try {
      expect((await busy.message("/remind 1h tea")).texts).toEqual(["I am holding as many reminders as I can right now; please try again later."]);
    } finally {
      await busy.close();
    }
  });

  it("answers /help and plain text in a 1:1 chat, stays quiet in groups", async () => {
    expect((await bot.message("/help")).texts[0]).toContain("within the hour after its time");
    expect((await bot.message("hello")).texts[0]).toContain("/remind 2h tea");
    expect((await bot.message("hello all", { chat: "Team" })).texts).toEqual([]);
  });
});

describe("reminder bot: delivery by the hourly tick", () => {
  it("a reminder fires at the first tick at or after its time, not before, and only once", async () => {
    await bot.message("/remind 90m tea"); // 10:00 → due 11:30
    let ticks = await bot.advance("1h"); // tick at 11:00
    expect(ticks).toHaveLength(1);
    expect(sent(ticks)).toEqual([]);
    ticks = await bot.advance("1h"); // tick at 12:00
    expect(sent(ticks)).toEqual([["alice@example.org", "⏰ Reminder: tea"]]);
    expect(ticks[0]?.messages[0]?.type).toBe("send");
    expect(sent(await bot.advance("3h"))).toEqual([]);
    expect((await bot.message("/reminders")).texts[0]).toContain("no reminders");
  });

  it("a reminder due exactly at a tick fires at that tick", async () => {
    await bot.message("/remind 2h tea"); // due 12:00
    const ticks = await bot.advance("2h");
    expect(ticks.map((t) => t.texts)).toEqual([[], ["⏰ Reminder: tea"]]);
  });

  it("a reminder set in a group is delivered there, naming who set it", async () => {
    await bot.message("/remind 1h stand-up", { from: { addr: "bob@example.org", name: "Bob" }, chat: "Team" });
    expect(sent(await bot.advance("1h"))).toEqual([["group:team", "⏰ Reminder for Bob: stand-up"]]);
  });

  it("several people's reminders go out in order of their time", async () => {
    await bot.message("/remind 50m second", { from: "bob@example.org" });
    await bot.message("/remind 20m first");
    await bot.message("/remind 3h later");
    expect(sent(await bot.advance("1h"))).toEqual([
      ["alice@example.org", "⏰ Reminder: first"],
      ["bob@example.org", "⏰ Reminder: second"],
    ]);
    expect(bot.state.get<unknown[]>("user:alice@example.org")).toHaveLength(1);
    expect(bot.state.get("user:bob@example.org")).toBeUndefined();
  });

  it("after downtime, a late reminder says it is late", async () => {
    await bot.message("/remind 1h tea"); // due 11:00
    bot.clock.advance("5h"); // no ticks: the host was down
    const result = await bot.tick(); // 15:00
    expect(result.texts).toEqual(["⏰ Reminder: tea\n(it was due at 11:00 UTC; I could not send it earlier)"]);
  });

  it("sends at most 80 reminders per tick and the rest at the next", async () => {
    for (let person = 1; person <= 5; person++) {
      for (let i = 1; i <= 20; i++) await bot.message(`/remind ${i}m r${i}`, { from: `p${person}@example.org` });
    }
    const ticks = await bot.advance("2h");
    expect(ticks.map((t) => t.status)).toEqual(["ok", "ok"]);
    expect(ticks.map((t) => t.messages.length)).toEqual([80, 20]);
    expect(bot.state.all()).toEqual({});
  });
});
