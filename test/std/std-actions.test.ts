// The bot's webxdc, delete, resend and react actions and the Message-IDs reply/send resolve to,
// run in the real sandbox; and what the bridge refuses when a hostile bot calls it directly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GuestEvent } from "../../std/contract.js";
import { Executor } from "../../host/executor/executor.js";
import { hostLauncher } from "../support/host-walls.js";
import { stableMessageId } from "../../host/wire/message-id.js";
import { WEBXDC_UPDATE_MAX_BYTES } from "../../core/limits.js";
import { bundleSource, botWithMessageHandler, messageAt, request } from "../support/sandbox.js";

let executor: Executor;
beforeAll(async () => {
  executor = new Executor({ launcher: await hostLauncher() });
  await executor.warmUp();
});
afterAll(() => executor.close());

const ALICE = "alice@example.org";
const webxdcEvent: Extract<GuestEvent, { kind: "webxdc" }> = {
  kind: "webxdc",
  update: { instanceId: "<app1@example.org>", from: { addr: ALICE, name: "Alice" }, chat: { id: ALICE, type: "single", name: "Alice" }, payload: { ping: 1 } },
};

/** Run `body` as the message handler and return the result. */
const run = (body: string, overrides: Parameters<typeof request>[1] = {}) => executor.run(request(botWithMessageHandler(body), overrides));

/** Call the bridge's emit directly with `action` and reply with the error it threw ("ok" if none). */
const direct = (action: unknown) =>
  run(
    `try { globalThis.__chatbotHost.emit(${JSON.stringify(JSON.stringify(action))}); await bot.reply("ok"); } catch (e) { await bot.reply(String(e.message)); }`,
  );

describe("std: Message-IDs of the bot's own messages", () => {
  it("reply and send resolve to the stable ids the host derives from the event and the action's index", async () => {
    const result = await run(`const a = await bot.reply("one"); const b = await bot.send("group:abc", "two"); await bot.state.set("ids", [a, b]);`);
    expect(result.status).toBe("ok");
    expect(JSON.parse(result.state!.ids!)).toEqual([
      stableMessageId("bot@example.org", "<m1@example.org>", 0),
      stableMessageId("bot@example.org", "<m1@example.org>", 1),
    ]);
  });

  it("the same event gives the same ids on a retry, another event other ids", async () => {
    const body = `await bot.state.set("id", await bot.reply("x"));`;
    const first = await run(body);
    const again = await run(body);
    const other = await run(body, { messageIds: { botAddr: "bot@example.org", eventKey: "<m2@example.org>" } });
    expect(again.state).toEqual(first.state);
    expect(other.state).not.toEqual(first.state);
  });
});

describe("std: webxdc, delete, resend, react", () => {
  it("bot.webxdc.send in a webxdc handler goes to the update's chat", async () => {
    const bundle = bundleSource(`import { defineBot } from "chatbot/std";
export default defineBot({ async webxdc(update, bot) { await bot.webxdc.send(update.instanceId, { payload: { pong: update.payload }, info: "pong", summary: "1 pong" }); } });`);
    const result = await executor.run(request(bundle, { event: webxdcEvent }));
    expect(result.status).toBe("ok");
    expect(result.actions).toEqual([
      { type: "webxdc-status", chatId: ALICE, instanceId: "<app1@example.org>", update: { payload: { pong: { ping: 1 } }, info: "pong", summary: "1 pong" } },
    ]);
  });

  it("deleteMessage, resend and react default to the current chat and take another one", async () => {
    const result = await run(
      `await bot.deleteMessage("<a@x>"); await bot.resend("<b@x>", "group:g1"); await bot.react("<c@x>", "👍"); await bot.react("<c@x>", "");`,
    );
    expect(result.actions).toEqual([
      { type: "delete", chatId: ALICE, messageId: "<a@x>" },
      { type: "resend", chatId: "group:g1", messageId: "<b@x>" },
      { type: "react", chatId: ALICE, messageId: "<c@x>", emoji: "👍" },
      { type: "react", chatId: ALICE, messageId: "<c@x>", emoji: "" },
    ]);
  });

  it("a tick has no current chat: deleteMessage without a chatId is a bot error that says so", async () => {
    const bundle = bundleSource(`import { defineBot } from "chatbot/std";
export default defineBot({ async tick(bot) { await bot.deleteMessage("<a@x>"); } });`);
    const result = await executor.run(request(bundle, { event: { kind: "tick", at: 1 } }));
    expect(result.status).toBe("bot-error");
    expect(result.error?.message).toMatch(/pass a chatId/);
  });

  it("std refuses a Message-ID without brackets and an update without payload before they reach the host", async () => {
    expect((await run(`await bot.react("m1@example.org", "x");`)).error?.message).toMatch(/Message-ID/);
    expect((await run(`await bot.webxdc.send("<app@x>", {});`)).error?.message).toMatch(/payload is required/);
  });

  it("several updates of one mail each reach the handler, in order, in one event; bot.reply answers each one's app", async () => {
    const bundle = await bundleSource(`import { defineBot } from "chatbot/std";
export default defineBot({ async webxdc(update, bot) { await bot.reply("got " + JSON.stringify(update.payload)); } });`);
    const second = { ...webxdcEvent.update, instanceId: "<app2@example.org>", payload: { ping: 2 } };
    const third = { ...webxdcEvent.update, payload: { ping: 3 } };
    const result = await executor.run(request(bundle, { event: { ...webxdcEvent, more: [second, third] } }));
    expect(result.status).toBe("ok");
    expect(result.actions.map((a) => (a.type === "reply" ? [a.inReplyTo, a.text] : a.type))).toEqual([
      ["<app1@example.org>", 'got {"ping":1}'],
      ["<app2@example.org>", 'got {"ping":2}'],
      ["<app1@example.org>", 'got {"ping":3}'],
    ]);
  });

  it("a file named *.xdc is sent as application/webxdc+zip whatever type the bot gave", async () => {
    const result = await run(
      `await bot.reply({ file: { name: "app.XDC", type: "text/plain", data: "PK" } }); await bot.send("${ALICE}", { file: { name: "n.zip", type: "application/zip", data: "PK" } });`,
    );
    expect(messageAt(result, 0)?.file?.type).toBe("application/webxdc+zip");
    expect(messageAt(result, 1)?.file?.type).toBe("application/zip");
  });
});

describe("std: addToGroup", () => {
  it("records an add-member action with the address lowercased and resolves to its Message-ID", async () => {
    const result = await run(`await bot.reply(await bot.addToGroup("group:AbCdEfGhIjKl", " Erin@Example.ORG "));`);
    expect(result.status).toBe("ok");
    expect(result.actions[0]).toEqual({ type: "add-member", chatId: "group:AbCdEfGhIjKl", addr: "erin@example.org" });
    expect(messageAt(result, 1)?.text).toBe(stableMessageId("bot@example.org", "<m1@example.org>", 0));
  });

  it("works in a tick too (an explicit group id is always given)", async () => {
    const bundle = bundleSource(`import { defineBot } from "chatbot/std";
export default defineBot({ async tick(bot) { await bot.addToGroup("group:g1", "erin@example.org"); } });`);
    const result = await executor.run(request(bundle, { event: { kind: "tick", at: 1 } }));
    expect(result.actions).toEqual([{ type: "add-member", chatId: "group:g1", addr: "erin@example.org" }]);
  });

  it("std refuses a 1:1 chat id and something that is not an address before they reach the host", async () => {
    expect((await run(`await bot.addToGroup("${ALICE}", "erin@example.org");`)).error?.message).toMatch(/bot.addToGroup: chatId must be a group/);
    expect((await run(`await bot.addToGroup("group:g1", "erin");`)).error?.message).toMatch(/bot.addToGroup: addr must be an email address/);
    expect((await run(`await bot.addToGroup("group:g1", 5);`)).error?.message).toMatch(/addr must be an email address/);
  });
});

describe("bridge: malformed actions from a bot that calls the host directly", () => {
  const refusals: Array<[string, unknown, RegExp]> = [
    ["an unknown action type", { type: "nuke", chatId: ALICE }, /^E_ACTION: action.type must be one of/],
    ["an unknown field", { type: "delete", chatId: ALICE, messageId: "<a@x>", raw: "From: x" }, /^E_ACTION: .*unknown field "raw"/],
    ["a missing chat id", { type: "delete", messageId: "<a@x>" }, /^E_ACTION: action.chatId/],
    ["a chat id with a line break", { type: "delete", chatId: "a@x\r\nBcc: y", messageId: "<a@x>" }, /^E_ACTION: action.chatId/],
    ["a Message-ID without brackets", { type: "delete", chatId: ALICE, messageId: "a@x" }, /^E_ACTION: action.messageId must be a Message-ID/],
    ["a Message-ID with a space", { type: "resend", chatId: ALICE, messageId: "<a b@x>" }, /^E_ACTION: action.messageId/],
    [
      "a header injected through a Message-ID",
      { type: "react", chatId: ALICE, messageId: "<a@x>\r\nChat-Delete: <b@x>", emoji: "x" },
      /^E_ACTION: action.messageId/,
    ],
    ["a Message-ID over 256 characters", { type: "delete", chatId: ALICE, messageId: `<${"a".repeat(253)}@x>` }, /^E_ACTION: action.messageId/],
    ["a number as Message-ID", { type: "delete", chatId: ALICE, messageId: 5 }, /^E_ACTION: action.messageId/],
    ["an emoji with a line break", { type: "react", chatId: ALICE, messageId: "<a@x>", emoji: "👍\r\n" }, /^E_ACTION: action.emoji/],
    ["an emoji over 64 bytes", { type: "react", chatId: ALICE, messageId: "<a@x>", emoji: "👍".repeat(17) }, /^E_ACTION: action.emoji/],
    ["a reply target that is not a Message-ID", { type: "reply", chatId: ALICE, inReplyTo: "x", text: "" }, /^E_ACTION: action.inReplyTo/],
    [
      "an update without payload",
      { type: "webxdc-status", chatId: ALICE, instanceId: "<a@x>", update: { info: "x" } },
      /^E_ACTION: action.update.payload is required/,
    ],
    [
      "an update with an unknown field",
      { type: "webxdc-status", chatId: ALICE, instanceId: "<a@x>", update: { payload: 1, serial: 9 } },
      /^E_ACTION: action.update has an unknown field "serial"/,
    ],
    [
      "an update whose info is not a string",
      { type: "webxdc-status", chatId: ALICE, instanceId: "<a@x>", update: { payload: 1, info: 5 } },
      /^E_ACTION: action.update.info/,
    ],
    ["an update that is an array", { type: "webxdc-status", chatId: ALICE, instanceId: "<a@x>", update: [1] }, /^E_ACTION: action.update must be an object/],
    ["add-member into a 1:1 chat", { type: "add-member", chatId: ALICE, addr: "erin@example.org" }, /^E_ACTION: action.chatId of add-member must be a group/],
    [
      "add-member into a group id with odd characters",
      { type: "add-member", chatId: "group:a.b", addr: "erin@example.org" },
      /^E_ACTION: action.chatId of add-member must be a group/,
    ],
    ["add-member without an address", { type: "add-member", chatId: "group:g1" }, /^E_ACTION: action.addr must be an email address/],
    ["add-member of a name without a domain", { type: "add-member", chatId: "group:g1", addr: "erin" }, /^E_ACTION: action.addr/],
    [
      "add-member with a header injected through the address",
      { type: "add-member", chatId: "group:g1", addr: "erin@x.org\r\nBcc: y@x.org" },
      /^E_ACTION: action.addr/,
    ],
    ["add-member of a display-name address", { type: "add-member", chatId: "group:g1", addr: "Erin <erin@x.org>" }, /^E_ACTION: action.addr/],
    ["add-member of two addresses", { type: "add-member", chatId: "group:g1", addr: "erin@x.org, eve@x.org" }, /^E_ACTION: action.addr/],
    [
      "add-member of an address over 254 characters",
      { type: "add-member", chatId: "group:g1", addr: `${"a".repeat(64)}@${"b".repeat(186)}.org` },
      /^E_ACTION: action.addr/,
    ],
    ["add-member with an unknown field", { type: "add-member", chatId: "group:g1", addr: "erin@x.org", name: "Erin" }, /^E_ACTION: .*unknown field "name"/],
  ];
  for (const [what, action, expected] of refusals) {
    it(`refuses ${what}`, async () => {
      const result = await direct(action);
      expect(result.status).toBe("ok");
      expect(messageAt(result)?.text).toMatch(expected);
      expect(result.actions).toHaveLength(1); // only the reply with the error
    });
  }

  it("accepts a well-formed direct call and answers with the action's Message-ID", async () => {
    const result = await run(
      `await bot.reply(globalThis.__chatbotHost.emit(JSON.stringify({ type: "react", chatId: "${ALICE}", messageId: "<a@x>", emoji: "🙂" })));`,
    );
    expect(messageAt(result, 1)?.text).toBe(stableMessageId("bot@example.org", "<m1@example.org>", 0));
  });

  it("a direct add-member is lowercased by the host, not only by std", async () => {
    const result = await run(
      `await bot.reply(globalThis.__chatbotHost.emit(JSON.stringify({ type: "add-member", chatId: "group:g1", addr: "ERIN@Example.org" })));`,
    );
    expect(result.actions[0]).toEqual({ type: "add-member", chatId: "group:g1", addr: "erin@example.org" });
    expect(messageAt(result, 1)?.text).toBe(stableMessageId("bot@example.org", "<m1@example.org>", 0));
  });

  it("a resend answers with the id being resent", async () => {
    const result = await run(`await bot.reply(globalThis.__chatbotHost.emit(JSON.stringify({ type: "resend", chatId: "${ALICE}", messageId: "<old@x>" })));`);
    expect(messageAt(result, 1)?.text).toBe("<old@x>");
  });
});

describe("limits: webxdc update size and action caps", () => {
  // {"updates":[{"payload":"…"}]} is 28 bytes around the payload string.
  const payloadFor = (jsonBytes: number) => `"x".repeat(${jsonBytes - 28})`;

  it(`a webxdc update of exactly ${WEBXDC_UPDATE_MAX_BYTES} bytes of JSON is accepted`, async () => {
    const result = await run(`await bot.webxdc.send("<app@x>", { payload: ${payloadFor(WEBXDC_UPDATE_MAX_BYTES)} });`);
    expect(result.status).toBe("ok");
    expect(JSON.stringify({ updates: [(result.actions[0] as { update: unknown }).update] }).length).toBe(WEBXDC_UPDATE_MAX_BYTES);
  });

  it("one byte more is refused with E_WEBXDC_TOO_LARGE, which the bot can catch", async () => {
    const result = await run(
      `try { await bot.webxdc.send("<app@x>", { payload: ${payloadFor(WEBXDC_UPDATE_MAX_BYTES + 1)} }); } catch (e) { await bot.reply(e.code + " " + e.message); }`,
    );
    expect(result.status).toBe("ok");
    expect(messageAt(result)?.text).toMatch(/^E_WEBXDC_TOO_LARGE a webxdc update is at most 102400 bytes of JSON; this one is 102401$/);
  });

  it("every new action counts against actionsPerEvent: at the cap ok, one over ends the event", async () => {
    const four = `await bot.webxdc.send("<a@x>", { payload: 1 }); await bot.deleteMessage("<b@x>"); await bot.resend("<c@x>"); await bot.react("<d@x>", "x");`;
    expect((await run(four, { limits: { actionsPerEvent: 4 } })).status).toBe("ok");
    const over = await run(four, { limits: { actionsPerEvent: 3 } });
    expect(over.status).toBe("output-limit");
    expect(over.limit?.name).toBe("actionsPerEvent");
    expect(over.actions).toEqual([]);
  });

  it("addToGroup counts against actionsPerEvent like every other action", async () => {
    const three = `await bot.reply("hi"); await bot.addToGroup("group:g1", "a@x.org"); await bot.addToGroup("group:g1", "b@x.org");`;
    expect((await run(three, { limits: { actionsPerEvent: 3 } })).status).toBe("ok");
    const over = await run(three, { limits: { actionsPerEvent: 2 } });
    expect(over.status).toBe("output-limit");
    expect(over.limit?.name).toBe("actionsPerEvent");
  });

  it("a webxdc update's JSON counts against actionBytesPerEvent", async () => {
    // chatId "alice@example.org" (17 bytes) + instanceId "<a@x>" (5 bytes) + {"payload":"xxxxxxxxxx"} (24 bytes) = 46 bytes.
    const body = `await bot.webxdc.send("<a@x>", { payload: "xxxxxxxxxx" }, "alice@example.org");`;
    expect((await run(body, { limits: { actionBytesPerEvent: 46 } })).status).toBe("ok");
    expect((await run(body, { limits: { actionBytesPerEvent: 45 } })).limit?.name).toBe("actionBytesPerEvent");
  });
});
