// Tests of the poll bot with chatbot/testing: every message and status update runs in the real
// sandbox, with a fake clock and in-memory state. Run them with `npm test` (or `npx vitest run`).
import { crc32 } from "node:zlib";
import { Script } from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestBot, type TestBot, type TestEventResult } from "chatbot/testing";

const here = new URL(".", import.meta.url);
const ALICE = "alice@example.org";
const BOB = "bob@example.org";
const CAROL = "carol@example.org";
const CLUB = "group:club";

/** The files of a zip whose entries are stored (method 0), checked against its central directory and CRCs. */
function unzipStored(zip: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const end = zip.byteLength - 22;
  expect(view.getUint32(end, true), "end of central directory signature").toBe(0x06054b50);
  const count = view.getUint16(end + 10, true);
  const centralSize = view.getUint32(end + 12, true);
  let at = view.getUint32(end + 16, true);
  expect(at + centralSize, "the central directory ends where the end record starts").toBe(end);
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    expect(view.getUint32(at, true), "central header signature").toBe(0x02014b50);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = Buffer.from(zip.subarray(at + 46, at + 46 + nameLength)).toString("utf8");
    expect(method, `${name} is stored`).toBe(0);
    expect(view.getUint32(local, true), "local header signature").toBe(0x04034b50);
    const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = zip.subarray(dataStart, dataStart + size);
    expect(crc32(data), `CRC-32 of ${name}`).toBe(crc);
    files.set(name, data);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString("utf8");

describe("poll bot", () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await createTestBot({ dir: here });
  });
  afterEach(async () => {
    await bot?.close();
  });

  /** Run an event and insist that it ended ok. */
  function ok(result: TestEventResult): TestEventResult {
    expect(result.status, JSON.stringify(result.error ?? result.limit)).toBe("ok");
    return result;
  }

  /** Start a poll with `/poll args`; resolves to the app's instance id (the Message-ID of the reply). */
  async function startPoll(args = "Lunch? | Pizza | Sushi | Salad", options: Parameters<TestBot["message"]>[1] = {}): Promise<string> {
    const { messages } = ok(await bot.message(`/poll ${args}`, options));
    expect(messages).toHaveLength(1);
    expect(messages[0]!.file?.name).toBe("poll.xdc");
    return messages[0]!.id;
  }

  /** A vote from `from` in the app `instanceId`, as the app sends it. */
  const vote = (instanceId: string, from: string, option: number | null, chat?: string) =>
    bot.webxdc({ instanceId, from, payload: { type: "vote", option, voter: `self-${from}` }, ...(chat ? { chat } : {}) });

  describe("/poll", () => {
    it("answers with the poll app and remembers the poll under the app's Message-ID", async () => {
      const { messages } = ok(await bot.message("/poll Lunch? | Pizza | Sushi | Salad"));
      expect(messages).toHaveLength(1);
      const [app] = messages;
      expect(app).toMatchObject({ type: "reply", chatId: ALICE, file: { name: "poll.xdc", type: "application/webxdc+zip" } });
      expect(app!.text).toContain("Lunch?");
      expect(bot.state.get(`poll:${app!.id}`)).toEqual({
        question: "Lunch?",
        options: ["Pizza", "Sushi", "Salad"],
        chatId: ALICE,
        creator: ALICE,
        created: expect.any(Number),
        votes: {},
      });
      // bot.now(): the test clock plus the time the event has run.
      expect(bot.state.get<{ created: number }>(`poll:${app!.id}`)!.created - bot.clock.now()).toBeLessThan(1000);
      expect(bot.state.get(`latest:${ALICE}`)).toBe(app!.id);
    });

    it("takes the question and the options on separate lines too, and tidies their spaces", async () => {
      const id = await startPoll("  Where do we\tmeet?\nLibrary\n\n  Café   Central \nPark");
      expect(bot.state.get(`poll:${id}`)).toMatchObject({ question: "Where do we meet?", options: ["Library", "Café Central", "Park"] });
    });

    it.each([
      ["", "Start a poll with: /poll Question?"],
      ["Lunch?", "at least two options"],
      ["Lunch? | Pizza", "at least two options"],
      ["Lunch? | Pizza | | ", "at least two options"],
      ["Lunch? | Pizza | pizza", '"pizza" is there twice'],
      [`Lunch? | ${Array.from({ length: 13 }, (_, i) => `Option ${i}`).join(" | ")}`, "at most 12 options, this one has 13"],
      [`Lunch? | Pizza | ${"x".repeat(101)}`, "too long (at most 100 characters)"],
      [`${"Why? ".repeat(61)} | Yes | No`, "The question is too long"],
    ])("refuses %j with a hint and sends no app", async (args, hint) => {
      const result = ok(await bot.message(`/poll ${args}`));
      expect(result.texts).toHaveLength(1);
      expect(result.texts[0]).toContain(hint);
      expect(result.messages[0]!.file).toBeUndefined();
      expect(bot.state.all()).toEqual({});
    });

    it("accepts exactly 12 options and options of exactly 100 characters", async () => {
      const id = await startPoll(`Q | ${"y".repeat(100)} | ${Array.from({ length: 11 }, (_, i) => `Option ${i}`).join(" | ")}`);
      expect(bot.state.get<{ options: string[] }>(`poll:${id}`)!.options).toHaveLength(12);
    });
  });

  describe("the .xdc file", () => {
    async function appFiles(args?: string): Promise<Map<string, Uint8Array>> {
      const { messages } = ok(await bot.message(`/poll ${args ?? "Lunch? | Pizza 🍕 | Sushi | Salad"}`));
      return unzipStored(messages[0]!.file!.bytes);
    }

    it('is a valid zip with index.html, manifest.toml (name = "Poll") and icon.png', async () => {
      const files = await appFiles();
      expect([...files.keys()].sort()).toEqual(["icon.png", "index.html", "manifest.toml"]);
      expect(text(files.get("manifest.toml"))).toBe('name = "Poll"\n');
      expect([...files.get("icon.png")!.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const html = text(files.get("index.html"));
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain('<script src="webxdc.js"></script>');
    });

    it("has the poll baked into index.html as JSON, UTF-8 encoded", async () => {
      const html = text((await appFiles()).get("index.html"));
      const json = /<script type="application\/json" id="poll-data">(.*?)<\/script>/s.exec(html)?.[1];
      expect(JSON.parse(json ?? "null")).toEqual({ question: "Lunch?", options: ["Pizza 🍕", "Sushi", "Salad"] });
    });

    it("keeps a question that contains </script> as text (no script injection into the app)", async () => {
      const html = text((await appFiles("<b>Q</b></script><script>alert(1)</script> | $& | $1")).get("index.html"));
      expect(html).not.toContain("<script>alert(1)");
      const json = /<script type="application\/json" id="poll-data">(.*?)<\/script>/s.exec(html)?.[1];
      expect(JSON.parse(json ?? "null")).toEqual({ question: "<b>Q</b></script><script>alert(1)</script>", options: ["$&", "$1"] });
    });

    it("has an app script that compiles and loads nothing from the network", async () => {
      const html = text((await appFiles()).get("index.html"));
      const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
      expect(scripts).toHaveLength(1);
      expect(() => new Script(scripts[0]!)).not.toThrow();
      expect(html).not.toMatch(/https?:\/\//);
    });

    it("is the same bytes for the same poll at the same time (a retried event sends the same app)", async () => {
      const first = (await bot.message("/poll Q | A | B")).messages[0]!.file!.bytes;
      const second = (await bot.message("/poll Q | A | B")).messages[0]!.file!.bytes;
      expect(second).toEqual(first);
    });
  });

  describe("votes", () => {
    it("counts one vote per address, the latest wins, and puts the tally under the app's icon", async () => {
      const id = await startPoll("Lunch? | Pizza | Sushi | Salad", { chat: CLUB });

      const first = ok(await vote(id, ALICE, 0, CLUB));
      expect(first.webxdc).toEqual([
        { type: "webxdc-status", chatId: CLUB, instanceId: id, update: { payload: { type: "tally", counts: [1, 0, 0] }, summary: "Pizza 1" } },
      ]);
      expect(first.texts).toEqual([]);
      ok(await vote(id, BOB, 1, CLUB));
      ok(await vote(id, CAROL, 1, CLUB));
      const changed = ok(await vote(id, ALICE, 1, CLUB));
      expect(changed.webxdc[0]!.update).toEqual({ payload: { type: "tally", counts: [0, 3, 0] }, summary: "Sushi 3" });
      const back = ok(await vote(id, BOB, 2, CLUB));
      expect(back.webxdc[0]!.update.summary).toBe("Sushi 2 · Salad 1");
      expect(bot.state.get<{ votes: unknown }>(`poll:${id}`)!.votes).toEqual({ [ALICE]: 1, [BOB]: 2, [CAROL]: 1 });
    });

    it("counts by the sender's address, whatever voter the payload names, and ignores its case", async () => {
      const id = await startPoll();
      ok(await bot.webxdc({ instanceId: id, from: ALICE, payload: { type: "vote", option: 0, voter: "someone-else" } }));
      ok(await bot.webxdc({ instanceId: id, from: "Alice@Example.org", chat: ALICE, payload: { type: "vote", option: 2, voter: "yet-another" } }));
      expect(bot.state.get<{ votes: unknown }>(`poll:${id}`)!.votes).toEqual({ [ALICE]: 2 });
    });

    it("takes a vote back (option null), and sends nothing for a vote that changes nothing", async () => {
      const id = await startPoll();
      ok(await vote(id, ALICE, 1));
      const again = ok(await vote(id, ALICE, 1));
      expect(again.actions).toEqual([]);
      const withdrawn = ok(await vote(id, ALICE, null));
      expect(withdrawn.webxdc[0]!.update).toEqual({ payload: { type: "tally", counts: [0, 0, 0] }, summary: "No votes yet" });
      expect(ok(await vote(id, ALICE, null)).actions).toEqual([]);
    });

    it.each([
      ["a string", "vote 1"],
      ["null", null],
      ["another type", { type: "hello", option: 1 }],
      ["no option", { type: "vote" }],
      ["an option past the end", { type: "vote", option: 3 }],
      ["a negative option", { type: "vote", option: -1 }],
      ["a fractional option", { type: "vote", option: 0.5 }],
      ["an option as text", { type: "vote", option: "1" }],
      ["an array", [{ type: "vote", option: 1 }]],
    ])("ignores a payload that is %s", async (_what, payload) => {
      const id = await startPoll();
      const result = ok(await bot.webxdc({ instanceId: id, from: ALICE, payload }));
      expect(result.actions).toEqual([]);
      expect(bot.state.get<{ votes: unknown }>(`poll:${id}`)!.votes).toEqual({});
    });

    it("ignores updates of apps it does not know, and votes sent from another chat than the poll's", async () => {
      const id = await startPoll("Lunch? | Pizza | Sushi", { chat: CLUB });
      expect(ok(await vote("<unknown@example.org>", ALICE, 0, CLUB)).actions).toEqual([]);
      expect(ok(await vote(id, ALICE, 0, "group:other")).actions).toEqual([]);
      expect(bot.state.get<{ votes: unknown }>(`poll:${id}`)!.votes).toEqual({});
    });
  });

  describe("/results and /close", () => {
    it("/results shows the count of the latest poll in this chat", async () => {
      const id = await startPoll();
      await vote(id, ALICE, 0);
      const { texts } = ok(await bot.message("/results"));
      expect(texts).toEqual(["📊 Lunch?\n\n██████████ Pizza: 1 (100%)\n░░░░░░░░░░ Sushi: 0 (0%)\n░░░░░░░░░░ Salad: 0 (0%)\n\n1 vote in total."]);
    });

    it("/results and /close say how to start a poll when the chat has none", async () => {
      await startPoll("Q | A | B", { chat: CLUB });
      expect(ok(await bot.message("/results")).texts[0]).toContain("There is no poll in this chat yet.");
      expect(ok(await bot.message("/close")).texts[0]).toContain("There is no poll in this chat yet.");
    });

    it("/results follows the latest poll of each chat", async () => {
      const lunch = await startPoll("Lunch? | Pizza | Sushi", { chat: CLUB });
      const dinner = await startPoll("Dinner? | Soup | Stew", { chat: CLUB });
      await vote(lunch, ALICE, 0, CLUB);
      await vote(dinner, ALICE, 1, CLUB);
      const [results] = ok(await bot.message("/results", { chat: CLUB })).texts;
      expect(results).toContain("Dinner?");
      expect(results).toContain("Stew: 1 (100%)");
    });

    it("/close by the poll's creator posts the final results, tells the app, and later votes are ignored", async () => {
      const id = await startPoll("Lunch? | Pizza | Sushi | Salad", { chat: CLUB });
      await vote(id, ALICE, 0, CLUB);
      await vote(id, BOB, 1, CLUB);
      await vote(id, CAROL, 1, CLUB);

      const closed = ok(await bot.message("/close", { chat: CLUB }));
      expect(closed.texts).toHaveLength(1);
      expect(closed.texts[0]).toMatch(/^📊 Final results: Lunch\?/);
      expect(closed.texts[0]).toContain('"Sushi" wins with 2 votes.');
      expect(closed.webxdc).toEqual([
        {
          type: "webxdc-status",
          chatId: CLUB,
          instanceId: id,
          update: { payload: { type: "closed", counts: [1, 2, 0] }, summary: "Closed: Sushi 2 · Pizza 1" },
        },
      ]);
      const closedAt = bot.state.get<{ closed?: number }>(`poll:${id}`)!.closed! - bot.clock.now();
      expect(closedAt >= 0 && closedAt < 1000, "closed at bot.now()").toBe(true);

      const late = ok(await vote(id, "dave@example.org", 2, CLUB));
      expect(late.actions).toEqual([]);
      const changed = ok(await vote(id, ALICE, 1, CLUB));
      expect(changed.actions).toEqual([]);
      expect(bot.state.get<{ votes: unknown }>(`poll:${id}`)!.votes).toEqual({ [ALICE]: 0, [BOB]: 1, [CAROL]: 1 });

      const again = ok(await bot.message("/close", { chat: CLUB }));
      expect(again.texts[0]).toMatch(/^This poll is already closed\./);
      expect(again.webxdc).toEqual([]);
      expect(ok(await bot.message("/results", { chat: CLUB, from: BOB })).texts[0]).toContain("Final results");
    });

    it("/close by someone else is refused and the poll stays open", async () => {
      const id = await startPoll("Q | A | B", { chat: CLUB });
      const refused = ok(await bot.message("/close", { chat: CLUB, from: BOB }));
      expect(refused.texts).toEqual([`Only ${ALICE}, who started this poll, can close it.`]);
      expect(refused.webxdc).toEqual([]);
      expect(ok(await vote(id, BOB, 0, CLUB)).webxdc).toHaveLength(1);
    });

    it("names a tie, and a poll nobody voted in", async () => {
      const tie = await startPoll("Q | A | B | C", { chat: CLUB });
      await vote(tie, ALICE, 0, CLUB);
      await vote(tie, BOB, 2, CLUB);
      expect(ok(await bot.message("/close", { chat: CLUB })).texts[0]).toContain('A tie between "A" and "C" with 1 vote each.');
      await startPoll("Q2 | A | B");
      expect(ok(await bot.message("/close")).texts[0]).toContain("Nobody voted.");
    });
  });

  describe("other messages", () => {
    it("answers /help and any text in a 1:1 chat with the commands", async () => {
      expect(ok(await bot.message("/help")).texts[0]).toContain("/poll Lunch? | Pizza | Sushi | Salad");
      expect(ok(await bot.message("hello")).texts[0]).toContain("/results");
    });

    it("stays quiet in a group unless spoken to, and ignores reactions", async () => {
      expect(ok(await bot.message("hello everyone", { chat: CLUB })).actions).toEqual([]);
      expect(ok(await bot.message("/weather", { chat: CLUB })).actions).toEqual([]);
      const id = await startPoll();
      expect(ok(await bot.message("👍", { reaction: { emoji: "👍", to: id } })).actions).toEqual([]);
    });
  });

  it("keeps the latest 50 polls: the 51st forgets the oldest, whose app then stops counting", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 51; i++) ids.push(await startPoll(`Poll ${i} | A | B`, { chat: i === 0 ? CLUB : ALICE }));
    expect(bot.state.get<string[]>("polls")).toEqual(ids.slice(1));
    expect(bot.state.get(`poll:${ids[0]}`)).toBeUndefined();
    expect(bot.state.get(`latest:${CLUB}`)).toBeUndefined();
    expect(bot.state.get(`latest:${ALICE}`)).toBe(ids[50]);
    expect(ok(await vote(ids[0]!, ALICE, 0, CLUB)).actions).toEqual([]);
  });

  // How fast it builds the app is measured by `make bench` (section 10), not asserted here.
  it("a /poll event with 12 options, which builds the app, ends ok inside the default CPU budget", async () => {
    const result = ok(await bot.message(`/poll Which one? | ${Array.from({ length: 12 }, (_, i) => `Option number ${i}`).join(" | ")}`));
    expect(result.cpuMs).toBeLessThanOrEqual(result.wallMs);
  });
});
