// The poll template on a real relay with real Delta Chat cores 2.57: in a group of two people and
// the bot, /poll brings the poll app (a webxdc the bot zipped in its sandbox) to both, their votes
// from the app reach the bot as status updates, the bot's tally shows under the app's icon, and
// /results and /close answer with the count.
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { startBotOnRelay, type BotOnRelay } from "../support/bot-harness.js";
import { until } from "../support/poll.js";

describe.skipIf(!relayAvailable())("poll template with real Delta Chat clients", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  let bot: BotOnRelay;
  let carol: number;
  let dave: number;
  let carolGroup: number;
  /** The app message's id in each person's client. */
  const app = { carol: 0, dave: 0 };

  beforeAll(async () => {
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat()]);
    bot = await startBotOnRelay(relay, { addr: `pollbot01@${relay.domain}`, name: "Poll Bot", template: "poll" });
    carol = await dc.createAccount(relay, "Carol", `carol0001@${relay.domain}`, "carol-password");
    dave = await dc.createAccount(relay, "Dave", `dave00001@${relay.domain}`, "dave-password");
    const secureJoin = async (joiner: number, link: string) => {
      const chatId = await dc.joinByQr(joiner, link, 30_000);
      return chatId;
    };
    // Carol scans the bot's QR code, Dave scans Carol's; Carol makes a group with both.
    const carolBotChat = await secureJoin(carol, await bot.invite());
    await secureJoin(dave, await dc.rpc.getChatSecurejoinQrCode(carol, null));
    const [botOnCarol] = await dc.rpc.getChatContacts(carol, carolBotChat);
    const daveOnCarol = (await dc.rpc.getContactIds(carol, 0, `dave00001@${relay.domain}`))[0]!;
    carolGroup = await dc.rpc.createGroupChat(carol, "Lunch Club", false);
    await dc.rpc.addContactToChat(carol, carolGroup, botOnCarol!);
    await dc.rpc.addContactToChat(carol, carolGroup, daveOnCarol);
  }, 90_000);

  afterAll(async () => {
    await bot?.stop();
    await dc?.close();
    await relay?.stop();
  });

  /** Send a vote from `account`'s poll app, the way the app's sendUpdate does. */
  async function vote(account: number, instance: number, option: number | null): Promise<void> {
    const { selfAddr } = await dc.rpc.getWebxdcInfo(account, instance);
    await dc.rpc.sendWebxdcStatusUpdate(account, instance, JSON.stringify({ payload: { type: "vote", option, voter: selfAddr } }), "");
  }

  /** The payloads of the app's status updates as `account`'s client has them. */
  async function payloads(account: number, instance: number): Promise<unknown[]> {
    return (JSON.parse(await dc.rpc.getWebxdcStatusUpdates(account, instance, 0)) as Array<{ payload: unknown }>).map((u) => u.payload);
  }

  /** Wait until `account`'s client has the bot's tally `counts` and shows `summary` under the app's icon. */
  async function tallyArrives(account: number, instance: number, counts: number[], summary: string): Promise<void> {
    await until(
      // Core hands payloads back re-serialized (keys sorted): compare values, not JSON text.
      async () =>
        (await payloads(account, instance)).some((p) => isDeepStrictEqual(p, { type: "tally", counts })) &&
        (await dc.rpc.getWebxdcInfo(account, instance)).summary === summary,
      `the bot's tally ${JSON.stringify(counts)} ("${summary}") on account ${account}`,
    );
  }

  /** The poll the bot keeps for the app (its state, keyed by the app's Message-ID). */
  async function botPoll(): Promise<{ question: string; options: string[]; votes: Record<string, number>; closed?: number }> {
    const state = await bot.bot.state.load();
    const key = Object.keys(state).find((k) => k.startsWith("poll:"));
    return JSON.parse(state[key!]!) as never;
  }

  it("/poll in the group brings the poll app to both members, with the poll inside", async () => {
    const onCarol = dc.waitForIncomingMessage(carol, (m) => m.viewType === "Webxdc", 30_000);
    const onDave = dc.waitForIncomingMessage(dave, (m) => m.viewType === "Webxdc", 30_000);
    await dc.rpc.miscSendTextMessage(carol, carolGroup, "/poll Lunch? | Pizza | Sushi | Salad");
    const [carolApp, daveApp] = await Promise.all([onCarol, onDave]);
    app.carol = carolApp.id;
    app.dave = daveApp.id;

    expect(carolApp.chatId).toBe(carolGroup);
    expect(carolApp.fileName).toBe("poll.xdc");
    expect(carolApp.showPadlock).toBe(true);
    expect(carolApp.text).toContain("Lunch?");
    expect(daveApp.showPadlock).toBe(true);
    expect((await dc.rpc.getBasicChatInfo(dave, daveApp.chatId)).name).toBe("Lunch Club");
    // Core read the zip: the manifest's name, and index.html with the poll baked in.
    const info = await dc.rpc.getWebxdcInfo(dave, daveApp.id);
    expect(info.name).toBe("Poll");
    expect(info.icon).toBe("icon.png");
    expect(info.internetAccess).toBe(false);
    const html = Buffer.from(await dc.rpc.getWebxdcBlob(dave, daveApp.id, "index.html"), "base64").toString("utf8");
    expect(html).toContain('{"question":"Lunch?","options":["Pizza","Sushi","Salad"]}');

    const poll = await botPoll();
    expect(poll).toMatchObject({ question: "Lunch?", options: ["Pizza", "Sushi", "Salad"], votes: {} });
  });

  it("votes from the apps reach the bot, one per person with the latest counting, and its tally shows under the icon", async () => {
    await vote(carol, app.carol, 0);
    await tallyArrives(carol, app.carol, [1, 0, 0], "Pizza 1");

    await vote(dave, app.dave, 1);
    await tallyArrives(dave, app.dave, [1, 1, 0], "Pizza 1 · Sushi 1");

    await vote(dave, app.dave, 0); // Dave changes his mind
    await tallyArrives(dave, app.dave, [2, 0, 0], "Pizza 2");
    await tallyArrives(carol, app.carol, [2, 0, 0], "Pizza 2");

    expect((await botPoll()).votes).toEqual({ [`carol0001@${relay.domain}`]: 0, [`dave00001@${relay.domain}`]: 0 });
    // Each client sees the votes of both people and the bot's tallies, in the app's one update stream.
    const seen = await payloads(carol, app.carol);
    expect(seen.filter((p) => (p as { type?: string }).type === "vote")).toHaveLength(3);
  });

  it("/results answers in the group with the count", async () => {
    const results = dc.waitForIncomingMessage(dave, (m) => m.text.startsWith("📊 Lunch?"), 30_000);
    await dc.rpc.miscSendTextMessage(carol, carolGroup, "/results");
    const text = (await results).text;
    expect(text).toContain("Pizza: 2 (100%)");
    expect(text).toContain("Sushi: 0 (0%)");
    expect(text).toContain("2 votes in total.");
  });

  it("/close posts the final results, the apps switch to them, and a later vote is not counted", async () => {
    const final = dc.waitForIncomingMessage(dave, (m) => m.text.startsWith("📊 Final results"), 30_000);
    await dc.rpc.miscSendTextMessage(carol, carolGroup, "/close");
    expect((await final).text).toContain('"Pizza" wins with 2 votes.');
    await until(
      async () => (await payloads(dave, app.dave)).some((p) => isDeepStrictEqual(p, { type: "closed", counts: [2, 0, 0] })),
      "the closed update on Dave's app",
    );
    await until(async () => (await dc.rpc.getWebxdcInfo(dave, app.dave)).summary === "Closed: Pizza 2", "the closed summary on Dave's app");

    const events = bot.logs.filter((l) => l.event === "bot.event").length;
    await vote(dave, app.dave, 2);
    await until(() => bot.logs.filter((l) => l.event === "bot.event").length > events, "the bot to handle Dave's late vote");
    const late = bot.logs.filter((l) => l.event === "bot.event").at(-1)!;
    expect(late).toMatchObject({ status: "ok", sent: 0 });
    expect((await botPoll()).votes).toEqual({ [`carol0001@${relay.domain}`]: 0, [`dave00001@${relay.domain}`]: 0 });
    expect(bot.logs.filter((l) => l.event === "harness.error")).toEqual([]);
  });
});
