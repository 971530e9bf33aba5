// A real Delta Chat core and a hosted bot through real Postfix + Dovecot: the bot sends a webxdc
// app (a hand-built .xdc), answers the user's status update with its own (bot.webxdc.send), and
// deletes one of its own messages for everyone (bot.deleteMessage with the id bot.reply returned).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { startBotOnRelay, type BotOnRelay } from "../support/bot-harness.js";
import { storedZip } from "../support/stored-zip.js";

const XDC = storedZip({
  "manifest.toml": 'name = "Ping"\n',
  "index.html": '<!doctype html><title>Ping</title><script src="webxdc.js"></script><p>ping</p>\n',
});

// The bot: "/app" → a webxdc app; its status updates with "ping" → a "pong" update; "/keep" → a
// message whose Message-ID it remembers; "/delete" → deletes that message for everyone.
const BOT_SOURCE = `import { defineBot } from "chatbot/std";
const XDC = new Uint8Array([${[...XDC].join(",")}]);
export default defineBot({
  async message(msg, bot) {
    if (msg.text === "/app") {
      // The type is wrong on purpose: the host sends every *.xdc as application/webxdc+zip.
      await bot.reply({ text: "an app", file: { name: "ping.xdc", type: "application/zip", data: XDC } });
    } else if (msg.text === "/keep") {
      await bot.state.set("victim", await bot.reply("to be deleted"));
    } else if (msg.text === "/delete") {
      const victim = await bot.state.get("victim");
      if (typeof victim === "string") await bot.deleteMessage(victim);
    }
  },
  async webxdc(update, bot) {
    if (JSON.stringify(update.payload).includes("ping")) await bot.webxdc.send(update.instanceId, { payload: "pong", info: "the bot says pong" });
  },
});
`;

/** Poll `probe` every 200 ms until it returns a value other than undefined, or fail after `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(!relayAvailable())("webxdc and deletion with a real Delta Chat client", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  let bot: BotOnRelay;
  let account: number;
  let chatId: number;

  beforeAll(async () => {
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat()]);
    bot = await startBotOnRelay(relay, { addr: `xdcbot001@${relay.domain}`, name: "Xdc Bot", botSource: BOT_SOURCE });
    account = await dc.createAccount(relay, "Carol", `carol0001@${relay.domain}`, "carol-password");
    chatId = await dc.joinByQr(account, await bot.invite(), 30_000);
  }, 60_000);

  afterAll(async () => {
    await bot?.stop();
    await dc?.close();
    await relay?.stop();
  });

  it("webxdc: the bot's .xdc arrives as an app, and the bot answers the user's status update with its own", async () => {
    const app = dc.waitForIncomingMessage(account, (m) => m.viewType === "Webxdc", 30_000);
    await dc.rpc.miscSendTextMessage(account, chatId, "/app");
    const instance = await app;
    expect(instance.chatId).toBe(chatId);
    expect(instance.showPadlock).toBe(true);
    expect(instance.fileName).toBe("ping.xdc");

    await dc.rpc.sendWebxdcStatusUpdate(account, instance.id, JSON.stringify({ payload: { ping: 1 } }), "");
    const updates = await eventually("the bot's pong update", async () => {
      const json = await dc.rpc.getWebxdcStatusUpdates(account, instance.id, 0);
      const list = JSON.parse(json) as Array<{ payload: unknown }>;
      return list.some((u) => u.payload === "pong") ? list : undefined;
    });
    expect(updates.map((u) => u.payload)).toEqual([{ ping: 1 }, "pong"]);
    expect(bot.logs.some((line) => line.event === "bot.event" && line.status === "ok" && line.sent === 1)).toBe(true);
  });

  it("delete: a message the bot sent disappears from the user's chat when the bot deletes it", async () => {
    const kept = dc.waitForIncomingMessage(account, (m) => m.text === "to be deleted", 30_000);
    await dc.rpc.miscSendTextMessage(account, chatId, "/keep");
    const victim = await kept;
    expect(await dc.rpc.getMessageIds(account, chatId, false, false)).toContain(victim.id);
    // The bot learned the id of its reply from bot.reply and kept it in its state.
    const stored = JSON.parse((await bot.bot.state.load()).victim ?? "null") as string;
    expect(stored).toMatch(/^<.+@.+>$/);
    expect((await bot.account.sent.get(stored))?.entry.chatId).toBe(`carol0001@${relay.domain}`);

    await dc.rpc.miscSendTextMessage(account, chatId, "/delete");
    await eventually("the deleted message to leave the chat", async () =>
      (await dc.rpc.getMessageIds(account, chatId, false, false)).includes(victim.id) ? undefined : true,
    );
    // core moved it to the trash chat or removed it: it is nowhere the user can see it.
    const gone = await dc.rpc.getMessage(account, victim.id).then(
      (m) => m.chatId !== chatId,
      () => true,
    );
    expect(gone).toBe(true);
  });
});
