// A real Delta Chat core scans the bot's invite link, completes SecureJoin with the host through
// real Postfix + Dovecot, and gets the echo bot's reply shown as end-to-end encrypted from a bot.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { startBotOnRelay, type BotOnRelay } from "../support/bot-harness.js";

describe.skipIf(!relayAvailable())("SecureJoin and echo with a real Delta Chat client", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  let echo: BotOnRelay;

  beforeAll(async () => {
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat()]);
    echo = await startBotOnRelay(relay, { addr: `echobot01@${relay.domain}`, name: "Echo Bot" });
  });

  afterAll(async () => {
    await echo?.stop();
    await dc?.close();
    await relay?.stop();
  });

  /** Join the bot from a new account with `link`; resolves with the account and its chat with the bot. */
  async function join(name: string, link: string) {
    const account = await dc.createAccount(relay, name, `${name.toLowerCase()}@${relay.domain}`, `${name.toLowerCase()}-password`);
    const chatId = await dc.joinByQr(account, link, 30_000);
    return { account, chatId };
  }

  it("a v3 invite link is recognised by the client as the bot's contact invite", async () => {
    const probe = await dc.createAccount(relay, "Probe", `probe@${relay.domain}`, "probe-password");
    const qr = await dc.rpc.checkQr(probe, await echo.invite());
    expect(qr.kind).toBe("askVerifyContact");
  });

  it("1:1 via the v3 QR: the handshake completes and the echo arrives encrypted, from a bot", async () => {
    const { account, chatId } = await join("Alice", await echo.invite());
    const [botContactId] = await dc.rpc.getChatContacts(account, chatId);
    const contact = await dc.rpc.getContact(account, botContactId!);
    expect(contact.isVerified).toBe(true);

    const reply = dc.waitForIncomingMessage(account, (m) => m.text.startsWith("echo:"), 30_000);
    await dc.rpc.miscSendTextMessage(account, chatId, "hello bot");
    const message = await reply;
    expect(message.text).toBe("echo: hello bot");
    expect(message.showPadlock).toBe(true);
    expect(message.chatId).toBe(chatId);
    expect((await dc.rpc.getContact(account, message.fromId)).isBot).toBe(true);
    expect(echo.reports.filter((r) => r.outcome === "handshake").length).toBeGreaterThanOrEqual(2);
  });

  it("1:1 via the legacy QR (no v=3): the old handshake completes and the echo arrives encrypted", async () => {
    const legacy = (await echo.invite()).replace("&v=3", "");
    const { account, chatId } = await join("Bob", legacy);
    const reply = dc.waitForIncomingMessage(account, (m) => m.text.startsWith("echo:"), 30_000);
    await dc.rpc.miscSendTextMessage(account, chatId, "old style");
    const message = await reply;
    expect(message.text).toBe("echo: old style");
    expect(message.showPadlock).toBe(true);
  });
});
