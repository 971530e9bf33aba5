// The host's policy as a real Delta Chat client sees it: per-user limits with one notice, /stop and
// /start, hourly ticks, and the bot CPU budget deferring mail. Real Postfix + Dovecot, real SMTP
// submission as the bot, the bot's mail routed over LMTP to the service running IN this process
// with a FAKE clock: the test moves time by hours without sleeping. Needs root, `make relay-deps`
// and `make build` (the sandbox runner is compiled).
import { TICK_SCAN_MS } from "../../core/limits.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { T } from "@deltachat/jsonrpc-client";
import { Executor } from "../../host/executor/executor.js";
import { hostLauncher } from "../support/host-walls.js";
import { START_TEXT, STOP_TEXT } from "../../host/policy/consent.js";
import { nextTick, tickOffsetMs } from "../../host/policy/schedule.js";
import type { LogRecord } from "../../host/service/log-lines.js";
import { inviteLink } from "../../host/wire/securejoin/invite-link.js";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { SUBSCRIBER_BOT, cpuBurnerBot } from "../support/host-fixture.js";
import { startHostOnRelay as startHost, type RunningHost } from "../support/host-on-relay.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { until } from "../support/poll.js";

/** Usage is counted in one-minute buckets: a limit frees up to a minute after the hour (rolling-window.ts). */
const HOUR_AND_A_BUCKET = 61 * 60_000;

describe.skipIf(!relayAvailable())("host policy with a real Delta Chat client (service in-process, fake clock)", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  let executor: Executor;
  let host: RunningHost;
  let cpuHost: RunningHost;
  const domain = "chat.test";
  const limitBot = `limited@${domain}`;
  const tickBot = `ticker@${domain}`;
  const stopBot = `stoppable@${domain}`;
  const cpuBot = `burner@${domain}`;

  beforeAll(async () => {
    executor = new Executor({ launcher: await hostLauncher() });
    [relay, dc] = await Promise.all([startRelay({ domain }), startDeltaChat(), executor.warmUp()]);
    [host, cpuHost] = await Promise.all([
      startHost(relay, executor, {}, [
        { addr: limitBot, manifest: { limits: { perUser: { mailsPerHour: 3 } } } },
        { addr: tickBot, source: SUBSCRIBER_BOT, manifest: { schedule: "hourly" } },
        { addr: stopBot, source: SUBSCRIBER_BOT, manifest: { schedule: "hourly" } },
      ]),
      // 30 ms of CPU per hour for the whole bot, which spins 200 ms (wall) per message: well over 30 ms
      // of CPU time even when the machine is busy (the budget counts CPU time, not wall time).
      startHost(relay, executor, { ceilings: { bot: { botCpuMsPerHour: 30 } } }, [{ addr: cpuBot, source: cpuBurnerBot(200) }]),
    ]);
  });

  afterAll(async () => {
    await host?.stop();
    await cpuHost?.stop();
    await executor?.close();
    await dc?.close();
    await relay?.stop();
  });

  /** A new Delta Chat account that joins `bot` through its invite link; its 1:1 chat with the bot. */
  async function joinBot(on: RunningHost, bot: string, name: string) {
    const account = await dc.createAccount(relay, name, `${name.toLowerCase()}@${domain}`, `${name.toLowerCase()}-password`);
    const { account: botAccount } = (await on.service.bot(bot))!.bot;
    const tokens = await botAccount.tokens.forInvite();
    const link = inviteLink({
      fingerprint: botAccount.identity.fingerprint,
      addr: bot,
      name: "Test Bot",
      invitenumber: tokens.invitenumber,
      auth: tokens.auth,
    });
    const chatId = await dc.joinByQr(account, link, 30_000);
    const [botContact] = await dc.rpc.getChatContacts(account, chatId);
    return { account, chatId, botContact: botContact! };
  }

  type Chat = Awaited<ReturnType<typeof joinBot>>;

  /** Send `text` and wait for the bot's message `expected` (a string, or a test of its text). */
  async function say(chat: Chat, text: string, expected: string | ((text: string) => boolean)): Promise<T.Message> {
    const matches = typeof expected === "string" ? (t: string) => t === expected : expected;
    const reply = dc.waitForIncomingMessage(chat.account, (m) => m.chatId === chat.chatId && matches(m.text), 30_000);
    await dc.rpc.miscSendTextMessage(chat.account, chat.chatId, text);
    return reply;
  }

  /** Send `text` and wait until the host has handled it (a new log line `event` for `bot`) and its spool is empty. */
  async function sayAndWaitForHost(on: RunningHost, chat: Chat, bot: string, text: string, event: (line: LogRecord) => boolean): Promise<LogRecord> {
    const from = on.logs.length;
    await dc.rpc.miscSendTextMessage(chat.account, chat.chatId, text);
    let found: LogRecord | undefined;
    try {
      await until(() => (found = on.logs.slice(from).find((l) => l.bot === bot && event(l))) !== undefined, `the host to handle "${text}" for ${bot}`);
    } catch (error) {
      // What the host did log meanwhile says where the mail went instead.
      const since = on.logs.slice(from).map((l) => JSON.stringify(l));
      throw new Error(`${(error as Error).message}; the host's log since it was sent:\n${since.join("\n").slice(-6000)}`);
    }
    return found!;
  }

  /** The texts of the bot's messages in the chat, in the order the client received them. */
  async function botTexts(chat: Chat): Promise<string[]> {
    const ids = (await dc.rpc.getMessageIds(chat.account, chat.chatId, false, false)).sort((a, b) => a - b);
    const loaded = await dc.rpc.getMessages(chat.account, ids);
    return ids.map((id) => loaded[id]).flatMap((m) => (m?.kind === "message" && m.fromId === chat.botContact && !m.isInfo ? [m.text] : []));
  }

  /** Let the loop run a few more passes (a duplicate or stray mail would be submitted now), then give the relay time to deliver it. */
  async function settle(on: RunningHost): Promise<void> {
    await until(async () => (await on.spool.all()).every((e) => e.nextAttemptAt > on.clock.now()), "the spool to drain");
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }

  it("per-user limit of 3 mails per hour: 1–3 are echoed, the 4th gets one notice, the 5th nothing; an hour later the 6th is echoed", async () => {
    const alice = await joinBot(host, limitBot, "Alice");
    for (const text of ["one", "two", "three"]) {
      const reply = await say(alice, text, `echo: ${text}`);
      expect(reply.showPadlock).toBe(true);
    }
    const notice = await say(alice, "four", (t) => t.startsWith("You reached this bot's limit"));
    expect(notice.text).toMatch(/^You reached this bot's limit of 3 messages per hour\. It answers again after \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/);
    expect(notice.showPadlock).toBe(true);
    const silent = await sayAndWaitForHost(host, alice, limitBot, "five", (l) => l.event === "bot.refused");
    expect(silent).toMatchObject({ notified: false, reason: "per-user limit mailsPerHour (3/3)" });

    host.clock.advance(HOUR_AND_A_BUCKET);
    await say(alice, "six", "echo: six");
    await settle(host);
    expect(await botTexts(alice)).toEqual(["echo: one", "echo: two", "echo: three", notice.text, "echo: six"]);
  });

  it("hourly tick to a subscribed user: after the clock passes the bot's next slot the client receives the tick, once", async () => {
    const carol = await joinBot(host, tickBot, "Carol");
    await say(carol, "/sub", "subscribed");
    const from = host.logs.length; // earlier tests moved the clock past slots too (no subscriber then)
    const slot = nextTick("hourly", undefined, host.clock.now(), tickOffsetMs(tickBot, "hourly")).next;
    const tick = dc.waitForIncomingMessage(carol.account, (m) => m.chatId === carol.chatId && m.text.startsWith("tick at"), 30_000);
    host.clock.set(slot + TICK_SCAN_MS); // the drain loop looks for due ticks every TICK_SCAN_MS
    expect((await tick).text).toBe(`tick at ${new Date(slot).toISOString()}`);
    await settle(host);
    expect(await botTexts(carol)).toEqual(["subscribed", `tick at ${new Date(slot).toISOString()}`]);
    expect(host.logs.slice(from).filter((l) => l.event === "tick.queued" && l.bot === tickBot)).toEqual([expect.objectContaining({ at: slot })]);
  });

  it("/stop and /start: confirmed by the host; while stopped neither an echo nor the bot's tick reaches the user; after /start the echo does", async () => {
    const bob = await joinBot(host, stopBot, "Bob");
    await say(bob, "/sub", "subscribed");
    await say(bob, "/stop", STOP_TEXT);
    const ran = await sayAndWaitForHost(host, bob, stopBot, "hi", (l) => l.event === "bot.event");
    expect(ran).toMatchObject({ status: "ok", sent: 0, noConsent: [{ chatId: `bob@${domain}`, type: "reply" }] });

    const from = host.logs.length;
    const slot = nextTick("hourly", undefined, host.clock.now(), tickOffsetMs(stopBot, "hourly")).next;
    host.clock.set(slot + TICK_SCAN_MS); // the drain loop looks for due ticks every TICK_SCAN_MS
    await until(() => host.logs.slice(from).some((l) => l.event === "bot.tick" && l.bot === stopBot), "the stoppable bot's tick");
    expect(host.logs.slice(from).find((l) => l.event === "bot.tick" && l.bot === stopBot)).toMatchObject({
      at: slot,
      status: "ok",
      sent: 0,
      noConsent: [{ chatId: `bob@${domain}`, type: "send" }],
    });

    await say(bob, "/start", START_TEXT);
    await say(bob, "hi", "echo: hi");
    await settle(host);
    expect(await botTexts(bob)).toEqual(["subscribed", STOP_TEXT, START_TEXT, "echo: hi"]);
  });

  it("bot CPU budget (ceilings.bot.botCpuMsPerHour 30, ~200 ms per message): the 2nd message waits in the spool until the budget frees, then is answered", async () => {
    const dave = await joinBot(cpuHost, cpuBot, "Dave");
    await say(dave, "first", "echo: first");
    const deferred = await sayAndWaitForHost(cpuHost, dave, cpuBot, "second", (l) => l.event === "bot.deferred");
    expect(deferred).toMatchObject({ reason: "bot CPU budget botCpuMsPerHour used up" });
    // The deferred mail's entry (others may be in the spool beside it: a read receipt, the first mail
    // settling). The host logs bot.deferred before it writes the entry's new time: under load the
    // write came after this read once.
    const waiting = await until(
      async () => (await cpuHost.spool.all()).find((entry) => entry.nextAttemptAt === deferred.until),
      "the deferred mail's spool entry with its new time",
      10_000,
    );
    expect(waiting).toMatchObject({ recipient: cpuBot, attempts: 0, nextAttemptAt: deferred.until });
    expect(waiting!.nextAttemptAt).toBeGreaterThan(cpuHost.clock.now());
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the loop keeps polling: still not answered
    expect(await botTexts(dave)).toEqual(["echo: first"]);

    const answered = dc.waitForIncomingMessage(dave.account, (m) => m.chatId === dave.chatId && m.text === "echo: second", 30_000);
    cpuHost.clock.advance(HOUR_AND_A_BUCKET);
    await answered;
    expect(await cpuHost.spool.all()).toEqual([]);
    expect(await botTexts(dave)).toEqual(["echo: first", "echo: second"]);
  });
});
