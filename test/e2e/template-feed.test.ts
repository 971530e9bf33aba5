// The feed template on a real relay with a real Delta Chat client: a user joins the bot, follows a
// feed served by a local HTTPS server, and the hourly tick (run by the harness, as the host's
// scheduler would) posts each new item into the user's chat exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { startBotOnRelay, type BotOnRelay } from "../support/bot-harness.js";
import { TEST_TLS, startHttpsServer, type TestServer } from "../support/test-servers.js";

const HOUR_MS = 60 * 60 * 1000;

describe.skipIf(!relayAvailable())("feed template with a real Delta Chat client", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  let feedBot: BotOnRelay;
  let server: TestServer;
  /** The items the feed server lists now, newest first. */
  let items: Array<{ id: string; title: string }> = [{ id: "1", title: "First post" }];
  /** Conditional requests the server answered with 304. */
  let notModified = 0;

  const feedXml = () =>
    `<?xml version="1.0"?><rss version="2.0"><channel><title>Local news</title><link>https://127.0.0.1/</link>${items
      .map((item) => `<item><title>${item.title}</title><link>https://127.0.0.1/posts/${item.id}</link><guid>post-${item.id}</guid></item>`)
      .join("")}</channel></rss>`;

  beforeAll(async () => {
    server = await startHttpsServer((request, response) => {
      if (request.url !== "/feed.xml") {
        response.writeHead(404).end();
        return;
      }
      // A real ETag, so the bot's conditional requests meet a server that honours them.
      const etag = `"${items.map((item) => item.id).join("-")}"`;
      if (request.headers["if-none-match"] === etag) {
        notModified++;
        response.writeHead(304, { etag }).end();
        return;
      }
      response.writeHead(200, { "content-type": "application/rss+xml", etag }).end(feedXml());
    });
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat()]);
    feedBot = await startBotOnRelay(relay, {
      addr: `feedbot@${relay.domain}`,
      name: "Feed Bot",
      template: "feed",
      // What the operator approved: exactly the local server's origin (an IP literal, which is
      // what lets the host's address guard open a loopback socket), and the test CA it trusts.
      origins: [`https://127.0.0.1:${server.port}`],
      fetchSettings: { caPem: TEST_TLS.ca },
    });
  });

  afterAll(async () => {
    await feedBot?.stop();
    await dc?.close();
    await relay?.stop();
    await server?.close();
  });

  it("/sub, then each new item arrives once after the hourly tick, and nothing twice", async () => {
    const account = await dc.createAccount(relay, "Alice", `alice@${relay.domain}`, "alice-password");
    const chatId = await dc.joinByQr(account, await feedBot.invite(), 30_000);
    const feedUrl = `https://127.0.0.1:${server.port}/feed.xml`;

    // Following the feed: the bot fetches it at once and shows what is in it.
    let incoming = dc.waitForIncomingMessage(account, (m) => m.text.startsWith("Following"), 30_000);
    await dc.rpc.miscSendTextMessage(account, chatId, `/sub ${feedUrl}`);
    const subscribed = await incoming;
    expect(subscribed.text).toContain(`Following Local news (${feedUrl}).`);
    expect(subscribed.text).toContain("• First post");
    expect(subscribed.showPadlock).toBe(true);

    // A new item appears; the tick posts it into the chat.
    items = [{ id: "2", title: "Second post" }, ...items];
    const start = Date.now();
    incoming = dc.waitForIncomingMessage(account, (m) => m.text.startsWith("New in Local news"), 30_000);
    let report = await feedBot.tick(start + HOUR_MS);
    expect(report).toMatchObject({ outcome: "ran", sent: 1 });
    const posted = await incoming;
    expect(posted.text).toBe("New in Local news:\n• Second post\n  https://127.0.0.1/posts/2");
    expect(posted.chatId).toBe(chatId);
    expect(posted.showPadlock).toBe(true);

    // The next tick: the server answers 304 to the bot's If-None-Match; nothing is posted.
    report = await feedBot.tick(start + 2 * HOUR_MS);
    expect(report).toMatchObject({ outcome: "ran", sent: 0 });
    expect(notModified).toBe(1);

    // Another item: posted once; and a tick after it posts nothing again.
    items = [{ id: "3", title: "Third post" }, ...items];
    incoming = dc.waitForIncomingMessage(account, (m) => m.text.startsWith("New in Local news"), 30_000);
    report = await feedBot.tick(start + 3 * HOUR_MS);
    expect(report).toMatchObject({ outcome: "ran", sent: 1 });
    expect((await incoming).text).toBe("New in Local news:\n• Third post\n  https://127.0.0.1/posts/3");
    expect(await feedBot.tick(start + 4 * HOUR_MS)).toMatchObject({ outcome: "ran", sent: 0 });

    // The chat holds each item's post exactly once.
    const texts = await Promise.all((await dc.rpc.getMessageIds(account, chatId, false, false)).map(async (id) => (await dc.rpc.getMessage(account, id)).text));
    expect(texts.filter((text) => text.includes("Second post"))).toHaveLength(1);
    expect(texts.filter((text) => text.includes("Third post"))).toHaveLength(1);
    expect(server.requests.filter((r) => r === "GET /feed.xml")).toHaveLength(5);
  });

  it("/sub of an origin the operator did not approve explains how to allow it", async () => {
    const account = await dc.createAccount(relay, "Bob", `bob@${relay.domain}`, "bob-password");
    const chatId = await dc.joinByQr(account, await feedBot.invite(), 30_000);
    const incoming = dc.waitForIncomingMessage(account, (m) => m.text.startsWith("I can't follow"), 30_000);
    await dc.rpc.miscSendTextMessage(account, chatId, "/sub https://feeds.example.org/rss");
    const answer = await incoming;
    expect(answer.text).toContain("https://feeds.example.org is not one of them");
    expect(answer.text).toContain("approve-origin");
  });
});
