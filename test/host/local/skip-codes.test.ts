// Issue 14: an action the relay refuses (consent) or skips (its outbound rules) is shown locally
// with the code the relay logs — in the test kit here (one test per code), and the relay's own
// composition (mailsForActions on a bot account) gives the same code and reason for the same actions.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Action } from "../../../std/contract.js";
import { createTestBot, type TestBot } from "../../../host/testing/index.js";
import { openBotAccount } from "../../../host/wire/bot-account.js";
import { mailsForActions } from "../../../host/wire/outbound.js";
import { generateBotKeyArmored, identityFromArmored } from "../../../host/wire/pgp/identity.js";
import { stableMessageId } from "../../../host/wire/message-id.js";
import { botFolder } from "../testing/bot-folder.js";

const BOT = "bot@example.org";
const ALICE = "alice@example.org";
const BOB = "bob@example.org";

/** Each command does one thing a relay refuses or skips; the tick writes to Bob and the club. */
const SOURCE = `import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    const c = msg.command?.name;
    if (c === "stranger") await bot.send("carol@example.org", "psst");
    if (c === "delete-unknown") await bot.deleteMessage("<never-sent@example.org>");
    if (c === "delete-elsewhere") await bot.deleteMessage(await bot.reply("to Alice"), "${BOB}");
    if (c === "remember") await bot.state.set("id", await bot.reply("delete me later"));
    if (c === "delete-remembered") await bot.deleteMessage(await bot.state.get("id"));
    if (c === "add") await bot.addToGroup(msg.chat.id, msg.command.args);
  },
  async tick(bot) {
    await bot.send("${BOB}", "tick for Bob");
    await bot.send("group:club", "tick for the club");
  },
});
`;

let bot: TestBot | undefined;
afterEach(async () => {
  await bot?.close();
  bot = undefined;
});

const testBot = async (knownChats: string[] = []) => {
  bot = await createTestBot({ dir: botFolder(SOURCE), botAddr: BOT, knownChats });
  return bot;
};

/** What the relay's composition skips for `actions` of event `eventKey` on a fresh bot that knows Alice's and Bob's keys. */
async function relaySkips(actions: Action[], eventKey: string) {
  const account = await openBotAccount(mkdtempSync(join(tmpdir(), "skip-codes-")), BOT, "Bot");
  for (const addr of [ALICE, BOB]) {
    const identity = await identityFromArmored(await generateBotKeyArmored(addr), addr);
    await account.peers.remember(addr, identity.fingerprint, identity.keydataBase64);
  }
  return (await mailsForActions(account, actions, eventKey)).skipped;
}

describe("local skip codes: consent (the relay logs them under noConsent)", () => {
  it("E_NO_CONSENT: a send to a chat that never wrote to the bot", async () => {
    const result = await (await testBot()).message("/stranger");
    expect(result.refused).toEqual([{ chatId: "carol@example.org", type: "send", code: "E_NO_CONSENT" }]);
    expect(result.actions).toEqual([]);
  });

  it("E_STOPPED: a send to someone who sent /stop (who wrote before)", async () => {
    const kit = await testBot([BOB, "group:club"]);
    await kit.message("/stop", { from: BOB });
    const tick = await kit.tick();
    expect(tick.refused).toEqual([{ chatId: BOB, type: "send", code: "E_STOPPED" }]);
    expect(tick.texts).toEqual(["tick for the club"]);
  });
});

describe("local skip codes: the relay's outbound rules (the relay logs them under skipped)", () => {
  it("E_NOT_SENT: a delete of a message the bot did not send — the relay skips it with the same code and reason", async () => {
    const kit = await testBot();
    const id = "<unknown-1@example.org>";
    const result = await kit.message("/delete-unknown", { id });
    const action: Action = { type: "delete", chatId: ALICE, messageId: "<never-sent@example.org>" };
    expect(result.actions).toEqual([]);
    // The relay logs { index, code, reason }; locally the action's type and chat are shown beside them.
    expect(result.skipped).toEqual([{ type: "delete", chatId: ALICE, ...(await relaySkips([action], id))[0]! }]);
    expect(result.skipped[0]).toMatchObject({ index: 0, code: "E_NOT_SENT" });
  });

  it("E_OTHER_CHAT: a delete naming another chat than the one the bot's message went to — same code and reason as the relay", async () => {
    const kit = await testBot([BOB]);
    const id = "<elsewhere-1@example.org>";
    const result = await kit.message("/delete-elsewhere", { id });
    const reply = stableMessageId(BOT, id, 0);
    expect(result.texts).toEqual(["to Alice"]);
    const actions: Action[] = [
      { type: "reply", chatId: ALICE, inReplyTo: id, text: "to Alice" },
      { type: "delete", chatId: BOB, messageId: reply },
    ];
    expect(result.skipped).toEqual([{ type: "delete", chatId: BOB, ...(await relaySkips(actions, id))[0]! }]);
    expect(result.skipped[0]).toMatchObject({ index: 1, code: "E_OTHER_CHAT" });
  });

  it("a delete of the bot's own message from an earlier event in the same chat is carried out, not skipped", async () => {
    const kit = await testBot();
    await kit.message("/remember");
    const result = await kit.message("/delete-remembered");
    expect(result.skipped).toEqual([]);
    expect(result.actions).toEqual([{ type: "delete", chatId: ALICE, messageId: kit.state.get("id") }]);
  });

  it("E_ALREADY_MEMBER: add-member of someone who wrote in the group (before, the same add was carried out)", async () => {
    const kit = await testBot();
    await kit.message("hi", { from: BOB }); // Bob wrote 1:1: consent lets the bot add him to groups
    const before = await kit.message(`/add ${BOB}`, { chat: "Club" });
    expect(before).toMatchObject({ actions: [{ type: "add-member", addr: BOB }], skipped: [] });
    // Now a member (the add went out, and he writes in the group): a second add adds nobody.
    await kit.message("hello club", { from: BOB, chat: "Club" });
    const again = await kit.message(`/add ${BOB}`, { chat: "Club" });
    expect(again.actions).toEqual([]);
    expect(again.skipped).toEqual([
      { index: 0, type: "add-member", chatId: "group:club", code: "E_ALREADY_MEMBER", reason: `add-member: ${BOB} is already in group:club` },
    ]);
    // The bot itself never wrote 1:1, so consent refuses that add first, as on the relay.
    expect((await kit.message(`/add ${BOT}`, { chat: "Club" })).refused).toEqual([
      { chatId: "group:club", type: "add-member", addr: BOT, code: "E_NO_CONSENT" },
    ]);
  });

  it("E_STOPPED: a group mail when everyone who wrote in the group sent /stop", async () => {
    const kit = await testBot([BOB]);
    await kit.message("hello club", { chat: "Club" });
    expect((await kit.tick()).texts).toEqual(["tick for Bob", "tick for the club"]);
    await kit.message("/stop");
    const tick = await kit.tick();
    expect(tick.texts).toEqual(["tick for Bob"]);
    expect(tick.skipped).toEqual([{ index: 1, type: "send", chatId: "group:club", code: "E_STOPPED", reason: "every member of group:club sent /stop" }]);
  });
});
