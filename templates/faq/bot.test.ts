// The FAQ bot's tests. chatbot/testing runs every message in the same sandbox, with the same
// limits, as a relay does; only the clock and the state store are fakes. Run: npm test
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestBot, type MessageOptions, type TestBot } from "chatbot/testing";

const here = new URL(".", import.meta.url);
const CLUB = "group:club";
const CHESS = "group:chess";

describe("faq bot", () => {
  let bot: TestBot;
  // A fresh bot for every test: empty state, the clock at 2025-01-01 10:00 UTC.
  beforeEach(async () => {
    bot = await createTestBot({ dir: here });
  });
  afterEach(async () => {
    await bot?.close();
  });

  /** Send `text` and return the texts the bot answered with. */
  async function ask(text: string, options: MessageOptions = {}): Promise<string[]> {
    const result = await bot.message(text, options);
    expect(result.status, JSON.stringify(result.error ?? result.limit)).toBe("ok");
    return result.texts;
  }

  describe("configured commands and keywords", () => {
    it("/help lists the configured commands, the keywords and the editing commands", async () => {
      const [help] = await ask("/help");
      expect(help).toContain("/rules — the rules of this group");
      expect(help).toContain("/links — useful links");
      expect(help).toContain("opening hours, wifi");
      expect(help).toContain("/add keyword = answer");
    });

    it("/rules and /links answer with their configured text, also as /rules@botname in a group", async () => {
      expect(await ask("/rules")).toEqual(["1. Be kind.\n2. Stay on topic.\n3. No spam or ads."]);
      expect((await ask("/links"))[0]).toContain("https://example.org");
      expect(await ask("/rules@faqbot", { chat: CLUB })).toHaveLength(1);
    });

    it("a keyword anywhere in a message is answered, whatever its case and punctuation", async () => {
      expect(await ask("Hi! What are your OPENING   hours?")).toEqual(["We are open Monday to Friday, 9:00–17:00."]);
      expect(await ask("is there wi-fi")).toEqual(["Network: Guests, password: welcome2025"]);
      expect(await ask("Is there Wi Fi?")).toEqual(["Network: Guests, password: welcome2025"]);
    });

    it("only whole words match: 'wifis' and 'swifi' are not 'wifi'", async () => {
      expect(await ask("swifi wifis", { chat: CLUB })).toEqual([]);
    });

    it("/wifi asks for the keyword 'wifi' directly", async () => {
      expect(await ask("/wifi")).toEqual(["Network: Guests, password: welcome2025"]);
    });

    it("in a 1:1 chat, a message without a keyword gets a hint; an unknown command says so", async () => {
      expect(await ask("good morning")).toEqual(["I have no answer for that. Send /help to see what I know."]);
      expect(await ask("/frobnicate")).toEqual(["I don't know /frobnicate. Send /help for the commands."]);
    });

    it("in a group, chatter and unknown commands get no answer at all", async () => {
      expect(await ask("good morning everyone", { chat: CLUB })).toEqual([]);
      expect(await ask("/frobnicate", { chat: CLUB })).toEqual([]);
      expect(await ask("", { chat: CLUB, files: [{ name: "cat.jpg", data: "not really a cat" }] })).toEqual([]);
    });

    it("a reaction is never answered, even with a keyword in its text", async () => {
      expect(await ask("wifi", { reaction: { emoji: "👍", to: "<x@example.org>" } })).toEqual([]);
      expect(await ask("wifi", { chat: CLUB, reaction: { emoji: "👍", to: "<x@example.org>" } })).toEqual([]);
    });
  });

  describe("each chat's own answers", () => {
    it("/add in a group: the keyword is answered there, /list shows it, /remove takes it away", async () => {
      const [added] = await ask("/add Parking = Park behind the hall, it is free.", { chat: CLUB });
      expect(added).toContain('Added "parking"');
      expect(await ask("where is the parking?", { chat: CLUB })).toEqual(["Park behind the hall, it is free."]);
      expect((await ask("/list", { chat: CLUB }))[0]).toContain("• parking → Park behind the hall, it is free.");
      expect(await ask("/parking", { chat: CLUB })).toEqual(["Park behind the hall, it is free."]);

      expect(await ask("/remove parking", { chat: CLUB })).toEqual(['Removed "parking".']);
      expect(await ask("parking?", { chat: CLUB })).toEqual([]);
      expect(bot.state.get(`chat:${CLUB}`)).toEqual({ entries: [], admins: ["alice@example.org"] });
    });

    it("an answer may have several lines; /add of an existing keyword changes it", async () => {
      await ask("/add dues = 10 € a year.\nPay at the bar.", { chat: CLUB });
      expect(await ask("dues?", { chat: CLUB })).toEqual(["10 € a year.\nPay at the bar."]);
      expect((await ask("/add DUES = 12 € a year.", { chat: CLUB }))[0]).toContain('Changed "dues"');
      bot.clock.advance("1h");
      expect(await ask("dues?", { chat: CLUB })).toEqual(["12 € a year."]);
      expect(bot.state.get<{ entries: unknown[] }>(`chat:${CLUB}`)?.entries).toHaveLength(1);
    });

    it("each group, and each 1:1 chat, has its own answers", async () => {
      await ask("/add parking = Behind the hall.", { chat: CLUB });
      await ask("/add parking = Use the underground garage.", { chat: CHESS, from: "bob@example.org" });
      await ask("/add parking = My own note.");
      expect(await ask("parking", { chat: CLUB })).toEqual(["Behind the hall."]);
      expect(await ask("parking", { chat: CHESS })).toEqual(["Use the underground garage."]);
      expect(await ask("parking")).toEqual(["My own note."]);
      expect(await ask("parking", { chat: "group:other" })).toEqual([]);
      expect(await ask("parking", { from: "carol@example.org" })).toEqual(["I have no answer for that. Send /help to see what I know."]);
      expect(
        Object.keys(bot.state.all())
          .filter((k) => k.startsWith("chat:"))
          .sort(),
      ).toEqual(["chat:alice@example.org", `chat:${CHESS}`, `chat:${CLUB}`]);
    });

    it("a chat's own answer wins over a configured one for the same words", async () => {
      await ask("/add wifi = Ask at the bar for today's password.", { chat: CLUB });
      expect(await ask("wifi?", { chat: CLUB })).toEqual(["Ask at the bar for today's password."]);
      expect(await ask("wifi?", { chat: CHESS })).toEqual(["Network: Guests, password: welcome2025"]);
    });

    it("answers persist: a new bot started from the saved state still knows them", async () => {
      await ask("/add parking = Behind the hall.", { chat: CLUB });
      const restarted = await createTestBot({ dir: here, state: bot.state.all() });
      try {
        expect((await restarted.message("parking", { chat: CLUB })).texts).toEqual(["Behind the hall."]);
        expect((await restarted.message("/add x = y", { chat: CLUB, from: "bob@example.org" })).texts[0]).toContain("Only this group's admins");
      } finally {
        await restarted.close();
      }
    });

    it("/add and /remove without their arguments explain how to use them", async () => {
      expect((await ask("/add parking"))[0]).toContain("Usage: /add keyword = answer");
      expect((await ask("/add = an answer without a keyword"))[0]).toContain("Usage: /add keyword = answer");
      expect((await ask("/add ?! = punctuation is not a keyword"))[0]).toContain("Usage: /add keyword = answer");
      expect((await ask("/remove"))[0]).toContain("Usage: /remove keyword");
      expect(await ask("/remove nothing")).toEqual(['This chat has no answer for "nothing". /list shows the ones it has.']);
      expect(bot.state.all()).toEqual({});
    });
  });

  describe("who may change a group's answers", () => {
    it("the first person to /add becomes the group's admin; others may not change its answers", async () => {
      const [first] = await ask("/add parking = Behind the hall.", { chat: CLUB });
      expect(first).toContain("You are now an admin of this group's answers");
      const [refused] = await ask("/add parking = Anywhere!", { chat: CLUB, from: "mallory@example.org" });
      expect(refused).toBe("Only this group's admins may change its answers. Admins of this group's answers: alice@example.org");
      expect((await ask("/remove parking", { chat: CLUB, from: "mallory@example.org" }))[0]).toContain("Only this group's admins");
      expect(await ask("parking", { chat: CLUB, from: "mallory@example.org" })).toEqual(["Behind the hall."]);
    });

    it("an admin makes someone else an admin, who may then edit; /admin lists them", async () => {
      await ask("/add parking = Behind the hall.", { chat: CLUB });
      expect((await ask("/admin add Bob@Example.org", { chat: CLUB }))[0]).toContain("bob@example.org may now change this group's answers.");
      expect((await ask("/add parking = In the yard.", { chat: CLUB, from: "bob@example.org" }))[0]).toContain('Changed "parking"');
      expect(await ask("/admin", { chat: CLUB, from: "carol@example.org" })).toEqual(["Admins of this group's answers: alice@example.org, bob@example.org"]);
      expect((await ask("/admin remove alice@example.org", { chat: CLUB, from: "bob@example.org" }))[0]).toContain(
        "alice@example.org is no longer an admin here.",
      );
      expect((await ask("/add x = y", { chat: CLUB }))[0]).toContain("Only this group's admins");
      expect((await ask("/admin add carol", { chat: CLUB, from: "bob@example.org" }))[0]).toContain("Usage: /admin");
    });

    it("in a 1:1 chat the person is the only one who edits; no admin is stored", async () => {
      await ask("/add parking = Behind the hall.");
      expect(bot.state.get("chat:alice@example.org")).toEqual({ entries: [{ keyword: "parking", answer: "Behind the hall." }], admins: [] });
      expect(await ask("/admin")).toEqual(["This is your own chat with me: only you can change its answers."]);
    });
  });

  describe("cooldown", () => {
    const HOURS = "We are open Monday to Friday, 9:00–17:00.";

    it("in a group, a keyword is answered once per 10 minutes; other groups and keywords are not held back", async () => {
      expect(await ask("opening hours?", { chat: CLUB })).toEqual([HOURS]);
      expect(await ask("what were the opening hours again?", { chat: CLUB, from: "bob@example.org" })).toEqual([]);
      expect(await ask("when are you open", { chat: CLUB })).toEqual([]); // the same rule, another phrase
      expect(await ask("wifi?", { chat: CLUB })).toHaveLength(1);
      expect(await ask("opening hours?", { chat: CHESS })).toEqual([HOURS]);

      bot.clock.advance("9m59s");
      expect(await ask("opening hours?", { chat: CLUB })).toEqual([]);
      // bot.now() is the fake clock plus the time the event has run so far: leave a second for that.
      bot.clock.advance("2s");
      expect(await ask("opening hours?", { chat: CLUB })).toEqual([HOURS]);
    });

    it("commands are never held back, and 1:1 chats have no cooldown", async () => {
      expect(await ask("opening hours?", { chat: CLUB })).toEqual([HOURS]);
      expect(await ask("/rules", { chat: CLUB })).toHaveLength(1);
      expect(await ask("/rules", { chat: CLUB })).toHaveLength(1);
      expect(await ask("opening hours?")).toEqual([HOURS]);
      expect(await ask("opening hours?")).toEqual([HOURS]);
    });

    it("only recent answers are remembered: expired ones are dropped and at most 200 are kept", async () => {
      const now = bot.clock.now();
      const old = Array.from({ length: 50 }, (_, i) => [`group:old${i}`, "#0", now - 11 * 60_000]);
      const fresh = Array.from({ length: 200 }, (_, i) => [`group:g${i}`, "#0", now - 60_000 + i]);
      bot.state.set("cooldowns", [...old, ...fresh]);
      expect(await ask("opening hours?", { chat: CLUB })).toEqual([HOURS]);
      const kept = bot.state.get<Array<[string, string, number]>>("cooldowns") ?? [];
      expect(kept).toHaveLength(200);
      const [chat, id, at] = kept.at(-1) ?? [];
      expect([chat, id]).toEqual([CLUB, "#0"]);
      expect(at).toBeGreaterThanOrEqual(now);
      expect(at).toBeLessThan(now + 1000);
      expect(kept.some(([chat]) => chat === "group:g0" || chat.startsWith("group:old"))).toBe(false);
    });
  });

  describe("caps on what a chat stores", () => {
    it("25 answers per chat: the 25th is added, the 26th is refused with a clear reply", async () => {
      const entries = Array.from({ length: 24 }, (_, i) => ({ keyword: `topic ${i}`, answer: "x" }));
      bot.state.set(`chat:${CLUB}`, { entries, admins: ["alice@example.org"] });
      expect((await ask("/add topic 24 = x", { chat: CLUB }))[0]).toContain('Added "topic 24"');
      expect(await ask("/add topic 25 = x", { chat: CLUB })).toEqual([
        "This chat already has 25 answers, the most it can keep. /remove one first (/list shows them).",
      ]);
      expect((await ask("/add topic 3 = changed", { chat: CLUB }))[0]).toContain('Changed "topic 3"');
      expect(bot.state.get<{ entries: unknown[] }>(`chat:${CLUB}`)?.entries).toHaveLength(25);
    });

    it("an answer of 500 characters is kept, one of 501 is refused", async () => {
      expect((await ask(`/add long = ${"a".repeat(500)}`))[0]).toContain('Added "long"');
      expect(await ask(`/add longer = ${"a".repeat(501)}`)).toEqual(["That answer has 501 characters; the most is 500."]);
    });

    it("a keyword of 40 characters is kept, one of 41 is refused", async () => {
      expect((await ask(`/add ${"k".repeat(40)} = yes`))[0]).toContain("Added");
      expect(await ask(`/add ${"k".repeat(41)} = no`)).toEqual(["That keyword has 41 characters; the most is 40."]);
    });

    it("10 admins per group; an 11th is refused", async () => {
      const admins = Array.from({ length: 9 }, (_, i) => `admin${i}@example.org`);
      bot.state.set(`chat:${CLUB}`, { entries: [], admins: ["alice@example.org", ...admins.slice(0, 8)] });
      expect((await ask("/admin add tenth@example.org", { chat: CLUB }))[0]).toContain("may now change");
      expect((await ask("/admin add eleventh@example.org", { chat: CLUB }))[0]).toBe(
        "This group already has 10 admins, the most it can have. /admin remove one first.",
      );
    });

    it("all chats' answers together stay within 300 000 bytes: an /add that fits is kept, one past it is refused, /remove still works", async () => {
      // Another chat holds almost all of the store; the sizes are counted like the host's quota (key + JSON).
      const club = { entries: [{ keyword: "a", answer: "b" }], admins: ["alice@example.org"] };
      const big = (size: number) => ({ entries: [{ keyword: "big", answer: "x".repeat(size) }], admins: [] });
      const bytes = (key: string, value: unknown) => key.length + JSON.stringify(value).length;
      const used = bytes("chat:group:big", big(0)) + bytes(`chat:${CLUB}`, club);
      bot.state.set("chat:group:big", big(300_000 - used - 40));
      bot.state.set(`chat:${CLUB}`, club);

      // `,{"keyword":"p","answer":"q"}` is 29 bytes: it fits in the 40 left.
      expect((await ask("/add p = q", { chat: CLUB }))[0]).toContain('Added "p"');
      expect(await ask("/add parking = Behind the hall.", { chat: CLUB })).toEqual([
        "The bot's storage for answers is full (all chats together). /remove an answer, or ask the bot's owner.",
      ]);
      expect(await ask("parking", { chat: CLUB })).toEqual([]);
      expect(await ask("/remove a", { chat: CLUB })).toEqual(['Removed "a".']);
      expect(bot.state.get(`chat:${CLUB}`)).toEqual({ entries: [{ keyword: "p", answer: "q" }], admins: ["alice@example.org"] });
    });
  });
});
