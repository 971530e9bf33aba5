// The faq template on the real relay with a real Delta Chat client: a person joins the bot through
// its invite (SecureJoin), asks a command and a keyword and gets the configured answers; in a group
// with the bot, /add teaches it an answer that a keyword then gets, while chatter stays unanswered.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { startBotOnRelay, type BotOnRelay } from "../support/bot-harness.js";
import { until } from "../support/poll.js";

const RULES = "1. Be kind.\n2. Stay on topic.\n3. No spam or ads.";
const HOURS = "We are open Monday to Friday, 9:00–17:00.";

describe.skipIf(!relayAvailable())("faq template with a real Delta Chat client", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  let faq: BotOnRelay;

  beforeAll(async () => {
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat()]);
    faq = await startBotOnRelay(relay, { addr: `faqbot@${relay.domain}`, name: "FAQ Bot", template: "faq" });
  });

  afterAll(async () => {
    await faq?.stop();
    await dc?.close();
    await relay?.stop();
  });

  /** A new account that has completed SecureJoin with the bot; resolves with it and its chat with the bot. */
  async function join(name: string) {
    const account = await dc.createAccount(relay, name, `${name.toLowerCase()}@${relay.domain}`, `${name.toLowerCase()}-password`);
    const chatId = await dc.joinByQr(account, await faq.invite(), 30_000);
    return { account, chatId };
  }

  /** Send `text` in `chatId` and resolve with the bot's answer there, the first that `accept` takes. */
  async function ask(account: number, chatId: number, text: string, accept: (text: string) => boolean) {
    const answer = dc.waitForIncomingMessage(account, (m) => m.chatId === chatId && accept(m.text), 30_000);
    await dc.rpc.miscSendTextMessage(account, chatId, text);
    return answer;
  }

  it("a person joins via the invite, asks /rules and a keyword, and gets the configured answers, encrypted", async () => {
    const { account, chatId } = await join("Alice");
    const rules = await ask(account, chatId, "/rules", (t) => t === RULES);
    expect(rules.showPadlock).toBe(true);
    expect((await dc.rpc.getContact(account, rules.fromId)).isBot).toBe(true);

    const hours = await ask(account, chatId, "Hi! What are your opening hours?", (t) => t === HOURS);
    expect(hours.showPadlock).toBe(true);
    expect(hours.chatId).toBe(chatId);
  });

  it("in a group with the bot: /add makes the first editor its admin, the keyword is answered, chatter is not", async () => {
    const { account: bob, chatId: bobBotChat } = await join("Bob");
    const [botOnBob] = await dc.rpc.getChatContacts(bob, bobBotChat);
    const group = await dc.rpc.createGroupChat(bob, "Garden Club", false);
    await dc.rpc.addContactToChat(bob, group, botOnBob!);

    const added = await ask(bob, group, "/add parking = Park behind the hall, it is free.", (t) => t.startsWith('Added "parking"'));
    expect(added.text).toContain("You are now an admin of this group's answers");
    expect(added.showPadlock).toBe(true);
    expect((await dc.rpc.getBasicChatInfo(bob, added.chatId)).name).toBe("Garden Club");

    const reportsBefore = faq.reports.length;
    await dc.rpc.miscSendTextMessage(bob, group, "good morning, gardeners");
    const answer = await ask(bob, group, "Where is the PARKING?", (t) => t === "Park behind the hall, it is free.");
    expect(answer.chatId).toBe(group);
    // Both mails ran the bot; only the keyword got an answer (chatter in a group is left alone).
    await until(() => faq.reports.length >= reportsBefore + 2, "the host handled both mails");
    const messages = await Promise.all((await dc.rpc.getMessageIds(bob, group, false, false)).map((id) => dc.rpc.getMessage(bob, id)));
    const fromBot = messages.filter((m) => m.fromId === botOnBob).map((m) => m.text);
    expect(fromBot).toEqual([added.text, "Park behind the hall, it is free."]);

    // The group's answer is the group's: the bot's 1:1 chat with Bob does not have it.
    const oneToOne = await ask(bob, bobBotChat, "parking?", (t) => t.startsWith("I have no answer"));
    expect(oneToOne.chatId).toBe(bobBotChat);
  });
});
