// The feed bot's tests. chatbot/testing runs every event in the same sandbox, with the same limits,
// as a relay does; the clock, fetch (recorded responses) and state are fakes. Run: npm test
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestBot, type TestBot } from "chatbot/testing";

// Origins in chatbot.json, which the test kit treats as approved by the operator.
const NEWS = "https://hnrss.org/frontpage";
const RELEASES = "https://github.com/chatmail/relay/releases.atom";

interface Item {
  id: string;
  title: string;
}

function rss(title: string, items: Item[]): string {
  const entries = items
    .map((item) => `<item><title>${item.title}</title><link>https://news.example/${item.id}</link><guid isPermaLink="false">${item.id}</guid></item>`)
    .join("\n");
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>${title}</title><link>https://news.example/</link>${entries}</channel></rss>`;
}

function atom(title: string, items: Item[]): string {
  const entries = items
    .map(
      (item) =>
        `<entry><title>${item.title}</title><link href="https://github.com/r/${item.id}"/><id>${item.id}</id><updated>2025-01-01T00:00:00Z</updated></entry>`,
    )
    .join("\n");
  return `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>${title}</title>${entries}</feed>`;
}

/** Items "n", "n-1", … "1" (newest first, as feeds list them). */
function items(n: number, from = 1): Item[] {
  return Array.from({ length: n - from + 1 }, (_, i) => ({ id: `i${n - i}`, title: `Item ${n - i}` }));
}

let bot: TestBot;

beforeEach(async () => {
  bot = await createTestBot({ dir: import.meta.url });
});
afterEach(() => bot.close());

describe("feed bot: commands", () => {
  it("answers /help, and any text in a 1:1 chat, with the commands; stays quiet in groups", async () => {
    expect((await bot.message("/help")).texts[0]).toContain("/sub URL");
    expect((await bot.message("hi")).texts[0]).toContain("/unsub");
    expect((await bot.message("hi all", { chat: "Team" })).texts).toEqual([]);
  });

  it("/sub fetches the feed, shows its latest 3 items and remembers all of them", async () => {
    bot.fetch.on(NEWS, rss("Hacker News &amp; more", items(5)));
    const result = await bot.message(`/sub ${NEWS}`);
    expect(result.status).toBe("ok");
    expect(result.fetched).toEqual([NEWS]);
    expect(result.texts[0]).toBe(
      [
        `Following Hacker News & more (${NEWS}).`,
        "Its latest 3 items:",
        "• Item 5",
        "  https://news.example/i5",
        "• Item 4",
        "  https://news.example/i4",
        "• Item 3",
        "  https://news.example/i3",
        "",
        "I check it once an hour and post new items here.",
      ].join("\n"),
    );
    expect(bot.state.get<{ seen: string[]; chats: string[] }>(`feed:${NEWS}`)).toMatchObject({ chats: ["alice@example.org"], seen: expect.any(Array) });
    expect(bot.state.get<{ seen: string[] }>(`feed:${NEWS}`)?.seen).toHaveLength(5);
  });

  it("/sub without a URL, or twice, says what to do", async () => {
    expect((await bot.message("/sub")).texts[0]).toContain("/sub https://");
    expect((await bot.message("/sub ftp://x")).texts[0]).toContain("/sub https://");
    bot.fetch.on(NEWS, rss("HN", items(1)));
    await bot.message(`/sub ${NEWS}`);
    expect((await bot.message(`/sub <${NEWS}>`)).texts).toEqual(["This chat already follows HN."]);
  });

  it("/sub of an origin the bot may not fetch from explains that the origin must be allowed, and how", async () => {
    const result = await bot.message("/sub https://blog.example.com/feed.xml");
    expect(result.status).toBe("ok");
    const text = result.texts[0] ?? "";
    expect(text).toContain("https://blog.example.com is not one of them");
    expect(text).toContain(`adds "https://blog.example.com" to "origins" in the bot's chatbot.json`);
    expect(text).toContain("chatbot host bots approve-origin <bot address> https://blog.example.com");
    expect(bot.state.all()).toEqual({});
  });

  it("/sub names the refused origin of a redirect, not the feed's own", async () => {
    bot.fetch.on(NEWS, { status: 302, headers: { location: "https://elsewhere.example/rss" } });
    expect((await bot.message(`/sub ${NEWS}`)).texts[0]).toContain("https://elsewhere.example is not one of them");
  });

  it("/sub refuses what is not a feed, with the reason", async () => {
    bot.fetch.on(NEWS, { headers: { "content-type": "text/html" }, body: "<!DOCTYPE html><html><body>Hi</body></html>" });
    expect((await bot.message(`/sub ${NEWS}`)).texts[0]).toContain("it is a web page, not a feed");
    bot.fetch.on(NEWS, { status: 404, body: "no" });
    expect((await bot.message(`/sub ${NEWS}`)).texts[0]).toBe(`I can't follow ${NEWS}: the server answered 404 Not Found.`);
    expect((await bot.message("/sub https://hnrss.org/unrecorded")).texts[0]).toContain("could not be reached");
    bot.fetch.on("http://hnrss.org/plain", rss("x", []));
    expect((await bot.message("/sub http://hnrss.org/plain")).texts[0]).toContain("only https:// feeds");
    expect(bot.state.all()).toEqual({});
  });

  it("/list numbers the chat's feeds and /unsub stops one by number or URL", async () => {
    bot.fetch.on(NEWS, rss("HN", items(1)));
    bot.fetch.on(RELEASES, atom("Relay releases", items(2)));
    await bot.message(`/sub ${NEWS}`);
    await bot.message(`/sub ${RELEASES}`);
    expect((await bot.message("/list")).texts[0]).toBe(
      [`This chat follows 2 of at most 10 feeds:`, `1. Relay releases — ${RELEASES}`, `2. HN — ${NEWS}`, "", "/unsub N stops one."].join("\n"),
    );
    expect((await bot.message("/list", { from: "bob@example.org" })).texts[0]).toBe("This chat follows no feeds. Add one with /sub URL.");
    expect((await bot.message("/unsub 1")).texts).toEqual(["Stopped following Relay releases."]);
    expect((await bot.message(`/unsub ${NEWS}`)).texts).toEqual(["Stopped following HN."]);
    expect((await bot.message("/unsub 1")).texts[0]).toContain("does not follow a feed number 1");
    expect(bot.state.all()).toEqual({});
  });

  it("a chat follows at most 10 feeds", async () => {
    for (let i = 1; i <= 10; i++) {
      bot.fetch.on(`https://hnrss.org/f${i}`, rss(`F${i}`, items(1)));
      expect((await bot.message(`/sub https://hnrss.org/f${i}`)).texts[0]).toMatch(/^Following F/);
    }
    bot.fetch.on("https://hnrss.org/f11", rss("F11", items(1)));
    const refused = await bot.message("/sub https://hnrss.org/f11");
    expect(refused.texts[0]).toContain("follows 10 feeds, the most I allow per chat");
    expect(refused.fetched).toEqual([]);
    // Another chat still can.
    expect((await bot.message("/sub https://hnrss.org/f11", { from: "bob@example.org" })).texts[0]).toMatch(/^Following F11/);
  });
});

describe("feed bot: the hourly tick", () => {
  it("fetches a feed once for all chats and posts each new item exactly once to each", async () => {
    bot.fetch.on(NEWS, rss("HN", items(3)));
    await bot.message(`/sub ${NEWS}`);
    // A group that follows the same feed: no fetch, items from now on.
    const group = await bot.message(`/sub ${NEWS}`, { from: "bob@example.org", chat: "Team" });
    expect(group.fetched).toEqual([]);
    expect(group.texts).toEqual(["Following HN. I check it once an hour and post new items here."]);

    // Nothing new: the tick fetches once and posts nothing.
    let [tick] = await bot.advance("1h");
    expect(tick?.status).toBe("ok");
    expect(tick?.fetched).toEqual([NEWS]);
    expect(tick?.messages).toEqual([]);

    // One new item: posted once to each chat.
    bot.fetch.on(NEWS, rss("HN", items(4)));
    [tick] = await bot.advance("1h");
    expect(tick?.fetched).toEqual([NEWS]);
    expect(tick?.messages.map((m) => [m.type, m.chatId, m.text])).toEqual([
      ["send", "alice@example.org", "New in HN:\n• Item 4\n  https://news.example/i4"],
      ["send", "group:team", "New in HN:\n• Item 4\n  https://news.example/i4"],
    ]);

    // The same feed again: nothing twice.
    [tick] = await bot.advance("1h");
    expect(tick?.messages).toEqual([]);
  });

  it("posts at most 5 items of a burst in one message and counts the rest", async () => {
    bot.fetch.on(NEWS, rss("HN", items(2)));
    await bot.message(`/sub ${NEWS}`);
    bot.fetch.on(NEWS, rss("HN", items(10)));
    const [tick] = await bot.advance("1h");
    expect(tick?.texts).toHaveLength(1);
    const text = tick?.texts[0] ?? "";
    expect(text.match(/^• /gm)).toHaveLength(5);
    expect(text).toContain("• Item 10");
    expect(text).toContain("…and 3 more: https://news.example/");
    expect((await bot.advance("1h"))[0]?.texts).toEqual([]);
  });

  it("sends the validators back and takes 304 Not Modified as nothing new", async () => {
    bot.fetch.on(NEWS, { headers: { etag: '"v1"', "last-modified": "Wed, 01 Jan 2025 09:00:00 GMT" }, body: rss("HN", items(1)) });
    await bot.message(`/sub ${NEWS}`);
    expect(bot.state.get(`feed:${NEWS}`)).toMatchObject({ etag: '"v1"', lastModified: "Wed, 01 Jan 2025 09:00:00 GMT" });
    bot.fetch.on(NEWS, { status: 304 });
    const [tick] = await bot.advance("1h");
    expect(tick?.status).toBe("ok");
    expect(tick?.messages).toEqual([]);
    expect(bot.state.get(`feed:${NEWS}`)).toMatchObject({ etag: '"v1"', failures: 0 });
  });

  it("a failing or broken feed is recorded and shown in /list; the other feeds are still posted", async () => {
    bot.fetch.on(NEWS, rss("HN", items(1)));
    bot.fetch.on(RELEASES, atom("Releases", items(1)));
    await bot.message(`/sub ${NEWS}`);
    await bot.message(`/sub ${RELEASES}`);
    bot.fetch.on(NEWS, { status: 500, body: "oops" });
    bot.fetch.on(RELEASES, atom("Releases", items(2)));
    let [tick] = await bot.advance("1h");
    expect(tick?.status).toBe("ok");
    expect(tick?.texts).toEqual(["New in Releases:\n• Item 2\n  https://github.com/r/i2"]);
    expect((await bot.message("/list")).texts[0]).toContain(`${NEWS} — last check failed: the server answered 500 Internal Server Error`);

    bot.fetch.on(NEWS, "<<<<not xml at all]]>");
    [tick] = await bot.advance("1h");
    expect(tick?.status).toBe("ok");
    expect(tick?.texts).toEqual([]);
    expect(bot.state.get(`feed:${NEWS}`)).toMatchObject({ failures: 2 });
  });

  it("after a day of failures tells the chat once", async () => {
    bot.fetch.on(NEWS, rss("HN", items(1)));
    await bot.message(`/sub ${NEWS}`);
    bot.fetch.on(NEWS, { status: 503 });
    const ticks = await bot.advance("25h");
    const notices = ticks.flatMap((t) => t.texts);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain("HN has failed for 24 checks in a row (last: the server answered 503 Service Unavailable)");
  });

  it("checks at most 10 feeds per tick, least recently checked first", async () => {
    for (let i = 1; i <= 12; i++) {
      bot.fetch.on(`https://hnrss.org/f${i}`, rss(`F${i}`, items(1)));
      await bot.message(`/sub https://hnrss.org/f${i}`, { from: i <= 6 ? "alice@example.org" : "bob@example.org" });
    }
    const all = Array.from({ length: 12 }, (_, i) => `https://hnrss.org/f${i + 1}`);
    const [first] = await bot.advance("1h");
    expect(first?.fetched).toHaveLength(10);
    const skipped = all.filter((url) => !first?.fetched.includes(url));
    expect(skipped).toHaveLength(2);
    const [second] = await bot.advance("1h");
    expect(second?.fetched).toHaveLength(10);
    expect(second?.fetched.slice(0, 2).sort()).toEqual(skipped.sort());
  });

  it("a big feed is read within the CPU budget", async () => {
    const big = Array.from({ length: 200 }, (_, i) => ({ id: `big-${i}`, title: `A long title number ${i} ${"with words ".repeat(20)}` }));
    const padding = `<description><![CDATA[${"<p>Lorem ipsum dolor sit amet</p>".repeat(100)}]]></description>`;
    bot.fetch.on(NEWS, rss("Big", big).replaceAll("</item>", `${padding}</item>`));
    const result = await bot.message(`/sub ${NEWS}`);
    expect(result.status).toBe("ok");
    // "ok" is the proof: over its CPU budget the event would have ended with cpu-limit.
    expect(result.texts[0]).toMatch(/^Following Big/);
  });

  it("ten hostile feeds in one tick: the tick ends ok inside the CPU budget and what it could not read goes first next time", async () => {
    const hostile = [
      `<rss><channel>${"<a>".repeat(400_000)}`,
      `<rss><channel>${'<a b="1" c="2" d="3">'.repeat(50_000)}`,
      `<rss><channel>${"<item>".repeat(200_000)}`,
    ];
    for (let i = 1; i <= 10; i++) {
      bot.fetch.on(`https://hnrss.org/h${i}`, rss(`H${i}`, items(1)));
      await bot.message(`/sub https://hnrss.org/h${i}`);
      bot.fetch.on(`https://hnrss.org/h${i}`, hostile[i % hostile.length] ?? "");
    }
    const urls = Array.from({ length: 10 }, (_, i) => `https://hnrss.org/h${i + 1}`);
    const [tick] = await bot.advance("1h");
    expect(tick?.status).toBe("ok");
    expect(tick?.fetched).toHaveLength(10);
    const read = urls.filter((url) => bot.state.get<{ checkedAt: number }>(`feed:${url}`)?.checkedAt === bot.clock.now());
    expect(read.length).toBeGreaterThan(0);
    const unread = urls.filter((url) => !read.includes(url));
    if (unread.length > 0) {
      expect(tick?.logs.map((line) => line.text)).toContainEqual(expect.stringContaining(`${unread.length} feeds wait for the next tick`));
      const [next] = await bot.advance("1h");
      expect(next?.status).toBe("ok");
      expect(next?.fetched.slice(0, unread.length).sort()).toEqual(unread.sort());
    }
  });
});
