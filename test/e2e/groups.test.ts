// Groups with real Delta Chat clients: a person adds the bot to a group with another person and
// the bot's reply appears in that group for both; the bot's own group invite link (vg-* flow)
// lets a person join a group the bot created; removing the bot stops its replies; the bot adds a
// person who wrote to it 1:1 to a group (bot.addToGroup) and both clients see the new member.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { startBotOnRelay, type BotOnRelay } from "../support/bot-harness.js";
import { newGroupId } from "../../host/wire/group-store.js";
import { until } from "../support/poll.js";

/** Echoes 1:1; in a group, "/add ADDR" adds that person (bot.addToGroup) and welcomes them. */
const ADDER_BOT = `import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    if (msg.chat.type === "group" && msg.command?.name === "add") {
      const addr = msg.command.args.trim();
      await bot.addToGroup(msg.chat.id, addr);
      await bot.send(msg.chat.id, "welcome " + addr);
      return;
    }
    await bot.reply("echo: " + msg.text);
  },
});
`;

describe.skipIf(!relayAvailable())("groups with real Delta Chat clients", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  let echo: BotOnRelay;
  let adder: BotOnRelay;

  beforeAll(async () => {
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat()]);
    // One after the other: route.sh rewrites the relay's transport table.
    echo = await startBotOnRelay(relay, { addr: `echobot02@${relay.domain}`, name: "Echo Bot" });
    adder = await startBotOnRelay(relay, { addr: `adderbot@${relay.domain}`, name: "Adder Bot", botSource: ADDER_BOT });
  });

  afterAll(async () => {
    await adder?.stop();
    await echo?.stop();
    await dc?.close();
    await relay?.stop();
  });

  async function account(name: string) {
    return dc.createAccount(relay, name, `${name.toLowerCase()}@${relay.domain}`, `${name.toLowerCase()}-password`);
  }

  /** `joiner` completes SecureJoin with `link`; resolves with the joiner's chat id. */
  async function secureJoin(joiner: number, link: string): Promise<number> {
    return dc.joinByQr(joiner, link, 30_000);
  }

  it("a person adds the bot to a group with another person: the bot's reply appears in the group for both", async () => {
    const carol = await account("Carol");
    const dave = await account("Dave");
    const carolBotChat = await secureJoin(carol, await echo.invite());
    await secureJoin(dave, await dc.rpc.getChatSecurejoinQrCode(carol, null));
    const [botOnCarol] = await dc.rpc.getChatContacts(carol, carolBotChat);
    const daveOnCarol = (await dc.rpc.getContactIds(carol, 0, `dave@${relay.domain}`))[0]!;

    const group = await dc.rpc.createGroupChat(carol, "Echo Club", false);
    await dc.rpc.addContactToChat(carol, group, botOnCarol!);
    await dc.rpc.addContactToChat(carol, group, daveOnCarol);

    const daveGetsEcho = dc.waitForIncomingMessage(dave, (m) => m.text === "echo: hi everyone", 30_000);
    const carolGetsEcho = dc.waitForIncomingMessage(carol, (m) => m.text === "echo: hi everyone", 30_000);
    await dc.rpc.miscSendTextMessage(carol, group, "hi everyone");
    const [onCarol, onDave] = await Promise.all([carolGetsEcho, daveGetsEcho]);

    expect(onCarol.chatId).toBe(group);
    expect(onCarol.showPadlock).toBe(true);
    expect(onDave.showPadlock).toBe(true);
    const daveChat = await dc.rpc.getBasicChatInfo(dave, onDave.chatId);
    expect(daveChat.chatType).toBe("Group");
    expect(daveChat.name).toBe("Echo Club");
  });

  it("a person joins the bot's own group through its group invite link (vg-* flow) and the bot answers there", async () => {
    const groupId = newGroupId();
    await echo.account.groups.update(groupId, (g) => ({ ...g, name: "Bot Lounge" }));
    const erin = await account("Erin");
    const chatId = await secureJoin(erin, await echo.groupInvite(groupId));
    const chat = await dc.rpc.getBasicChatInfo(erin, chatId);
    expect(chat.chatType).toBe("Group");
    expect(chat.name).toBe("Bot Lounge");
    expect((await echo.account.groups.get(groupId))?.members).toEqual([`erin@${relay.domain}`]);

    const reply = dc.waitForIncomingMessage(erin, (m) => m.text === "echo: hello lounge", 30_000);
    await dc.rpc.miscSendTextMessage(erin, chatId, "hello lounge");
    const message = await reply;
    expect(message.chatId).toBe(chatId);
    expect(message.showPadlock).toBe(true);
  });

  it("the bot's group invite without v=3 (older clients' vg-request flow) also adds the person", async () => {
    const groupId = newGroupId();
    await echo.account.groups.update(groupId, (g) => ({ ...g, name: "Old Timers" }));
    const gina = await account("Gina");
    const legacy = (await echo.groupInvite(groupId)).replace("&v=3", "");
    const chatId = await secureJoin(gina, legacy);
    expect((await dc.rpc.getBasicChatInfo(gina, chatId)).name).toBe("Old Timers");
    const reply = dc.waitForIncomingMessage(gina, (m) => m.text === "echo: hi old timers", 30_000);
    await dc.rpc.miscSendTextMessage(gina, chatId, "hi old timers");
    expect((await reply).chatId).toBe(chatId);
  });

  it("after a person removes the bot from the group, the bot no longer answers there", async () => {
    const frank = await account("Frank");
    const frankBotChat = await secureJoin(frank, await echo.invite());
    const [botOnFrank] = await dc.rpc.getChatContacts(frank, frankBotChat);
    const group = await dc.rpc.createGroupChat(frank, "Short Stay", false);
    await dc.rpc.addContactToChat(frank, group, botOnFrank!);
    const first = dc.waitForIncomingMessage(frank, (m) => m.text === "echo: one", 30_000);
    await dc.rpc.miscSendTextMessage(frank, group, "one");
    await first;

    const reportsBefore = echo.reports.length;
    await dc.rpc.removeContactFromChat(frank, group, botOnFrank!);
    await dc.rpc.miscSendTextMessage(frank, group, "two");
    // Wait until the host has handled both mails (removal, then "two"), then check nothing ran.
    const deadline = Date.now() + 20_000;
    while (echo.reports.length < reportsBefore + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500));
    const after = echo.reports.slice(reportsBefore);
    expect(after.some((r) => r.outcome === "group-update")).toBe(true);
    expect(after.filter((r) => r.outcome === "ran")).toEqual([]);
  });

  // Hedy plays the person who adds the bot to her group, Iris the person who wrote to the bot 1:1
  // (the harness runs without the consent policy: test/host/service/bot-policy.test.ts covers that).
  it("the bot adds a person who wrote to it 1:1 to a group: her client gets the group, the adder's client lists her", async () => {
    const hedy = await account("Hedy");
    const iris = await account("Iris");
    const irisAddr = `iris@${relay.domain}`;
    const hedyBotChat = await secureJoin(hedy, await adder.invite());
    const irisBotChat = await secureJoin(iris, await adder.invite());
    const echoed = dc.waitForIncomingMessage(iris, (m) => m.text === "echo: hi adder", 30_000);
    await dc.rpc.miscSendTextMessage(iris, irisBotChat, "hi adder");
    await echoed;

    const [botOnHedy] = await dc.rpc.getChatContacts(hedy, hedyBotChat);
    const group = await dc.rpc.createGroupChat(hedy, "Adder Club", false);
    await dc.rpc.addContactToChat(hedy, group, botOnHedy!);
    const irisWelcomed = dc.waitForIncomingMessage(iris, (m) => m.text === `welcome ${irisAddr}`, 30_000);
    const hedyWelcome = dc.waitForIncomingMessage(hedy, (m) => m.text === `welcome ${irisAddr}`, 30_000);
    await dc.rpc.miscSendTextMessage(hedy, group, `/add ${irisAddr}`);
    const [welcome] = await Promise.all([irisWelcomed, hedyWelcome]);

    // Iris's client: a group "Adder Club" with the bot's message, padlock, Hedy and the bot as members.
    expect(welcome.showPadlock).toBe(true);
    const irisGroup = await dc.rpc.getBasicChatInfo(iris, welcome.chatId);
    expect(irisGroup.chatType).toBe("Group");
    expect(irisGroup.name).toBe("Adder Club");
    const addrsOn = async (accountId: number, chatId: number) =>
      (await Promise.all((await dc.rpc.getChatContacts(accountId, chatId)).map((id) => dc.rpc.getContact(accountId, id)))).map((c) => c.address).sort();
    // The member-added message itself shows in Iris's group as the system message core makes of it
    // (polled: the relay may deliver the bot's two mails, member-added and welcome, in either order).
    await until(
      async () => {
        const messages = await Promise.all((await dc.rpc.getMessageIds(iris, welcome.chatId, false, false)).map((id) => dc.rpc.getMessage(iris, id)));
        return messages.some((m) => m.systemMessageType === "MemberAddedToGroup");
      },
      "the member-added message in Iris's group",
      30_000,
    );
    expect(await addrsOn(iris, welcome.chatId)).toEqual([`hedy@${relay.domain}`, adder.addr, irisAddr].sort());

    // Hedy's client applies the member-added message: Iris is a member of her group now.
    await until(async () => (await addrsOn(hedy, group)).includes(irisAddr), "Iris in Hedy's group", 30_000);
    expect(await addrsOn(hedy, group)).toEqual([`hedy@${relay.domain}`, adder.addr, irisAddr].sort());
    expect((await adder.account.groups.findByName("Adder Club"))?.members).toEqual([`hedy@${relay.domain}`, irisAddr]);
    expect(adder.logs.filter((l) => l.event === "bot.event" && "skipped" in l)).toEqual([]);
  });
});
