// The host service's drain, in-process: a real spool in a temp dir, a real sandbox (Executor), bots
// installed with the CLI like an operator does, a fake clock and a fake SMTP submitter. Mails come
// from a "user" whose key the bot learns from the mail's Autocrypt header.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sandboxAndSender } from "../../support/sandbox-and-sender.js";
import { MAIL_MAX_BYTES } from "../../../core/limits.js";
import { nextTick, tickOffsetMs } from "../../../host/policy/schedule.js";
import type { MailPlan } from "../../../host/service/handle-mail.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { loadHostConfig } from "../../../host/service/host-config.js";
import { HostService } from "../../../host/service/host-service.js";
import { backoffMs } from "../../../host/service/retry-policy.js";
import { TICK_MARKER, loadTickSecret, tickEntry } from "../../../host/service/tick-scheduler.js";
import { hostPaths } from "../../../host/service/paths.js";
import { Spool } from "../../../host/spool/spool.js";
import { checkEncryptedMime } from "../../../host/wire/filtermail-check.js";
import { stableMessageId } from "../../../host/wire/message-id.js";
import { parseOuter } from "../../../host/wire/mime/parse-outer.js";
import { parseInner } from "../../../host/wire/mime/parse-inner.js";
import { decryptAndVerify } from "../../../host/wire/pgp/decrypt.js";
import type { OutgoingMail } from "../../../host/wire/bot-message.js";
import {
  COUNTER_BOT,
  FakeClock,
  FakeSmtp,
  SUBSCRIBER_BOT,
  botSettings,
  botState,
  editBotSettings,
  initHost,
  installBot,
  type BotSpec,
} from "../../support/host-fixture.js";
import { userMail } from "../../support/user-mail.js";
import { until } from "../../support/poll.js";

const USER = "alice@chat.test";
const HOUR = 60 * 60 * 1000;
const LIMITS = { maxBytes: MAIL_MAX_BYTES };

const sandbox = sandboxAndSender(USER);

/** A host with one bot installed, a fake clock at the bot's install time and a fake SMTP. */
async function setup(spec: Partial<BotSpec> & { config?: Record<string, unknown> } = {}) {
  const work = mkdtempSync(join(tmpdir(), "host-service-"));
  const addr = spec.addr ?? "bot@chat.test";
  const data = await initHost(work, spec.config);
  await installBot(work, data, { addr, ...(spec.source ? { source: spec.source } : {}), ...(spec.manifest ? { manifest: spec.manifest } : {}) });
  const clock = new FakeClock((await botSettings(data, addr)).installedAt);
  const config = await loadHostConfig(hostPaths(data).config, data);
  const logs: HostEvent[] = [];
  /** A service as `host serve` builds it; a second one on the same data dir is the host after a restart. */
  const start = (smtp: FakeSmtp) => {
    const spool = new Spool(hostPaths(data).spool, clock);
    // sleep: a fake clock must not make the pacer wait in real time.
    const service = new HostService({
      sleep: async () => {},
      dataDir: data,
      config,
      spool,
      executor: sandbox.executor,
      clock,
      log: (line) => logs.push(line),
      submitterFor: () => smtp,
    });
    return { spool, service, smtp };
  };
  const first = start(new FakeSmtp());
  const botIdentity = (await first.service.bot(addr))!.bot.account.identity;
  /** A mail from Alice (signed, encrypted to the bot, her key in its Autocrypt header). */
  const mail = (text: string, messageId?: string) =>
    userMail({
      from: USER,
      to: addr,
      recipientKey: botIdentity.publicKey,
      signer: sandbox.sender,
      body: { kind: "text", text },
      ...(messageId ? { messageId } : {}),
    });
  /** Spool one mail from Alice as a door does. */
  const deliver = async (text: string, messageId?: string) => {
    const m = await mail(text, messageId);
    const entry = await first.spool.write(addr, m.raw, MAIL_MAX_BYTES);
    return { ...m, entry };
  };
  /** What Alice reads in one of the bot's mails. */
  const read = async (sent: OutgoingMail) => {
    const outer = parseOuter(new TextEncoder().encode(sent.raw), LIMITS);
    const decrypted = await decryptAndVerify(outer.encrypted!.armored, sandbox.sender, [botIdentity.publicKey], LIMITS);
    const inner = await parseInner(decrypted.inner, LIMITS);
    return { text: inner.text, inReplyTo: inner.inReplyTo, signed: decrypted.signerFingerprint === botIdentity.fingerprint };
  };
  return { work, data, addr, clock, logs, start, mail, deliver, read, ...first };
}

/** SMTP that takes its time (real time): the service plans the next mail meanwhile. */
class SlowSmtp extends FakeSmtp {
  override async submit(mail: OutgoingMail): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return super.submit(mail);
  }
}

/**
 * After a crash while the counter bot's mail "a" was journaled but its state maybe not committed:
 * "b" arrives, the host restarts and drains both — "a"'s reply as journaled, "b" run on the state
 * "a" left, while "a"'s reply is still being submitted.
 */
async function secondMailAfterRestart(host: Awaited<ReturnType<typeof setup>>): Promise<void> {
  host.clock.advance(1); // "b" after "a" in the spool's order
  await host.deliver("b");
  const restarted = host.start(new SlowSmtp());
  expect(await restarted.service.drainOnce()).toBe(2);
  const texts = await Promise.all(restarted.smtp.accepted.map(async (m) => (await host.read(m)).text));
  expect(texts).toEqual(["run 1: a", "run 2: b"]);
  expect(await botState(host.data, host.addr)).toEqual({ runs: 2 });
}

describe("host service: crash-safe drain", () => {
  it("stop() ends a pass after the entry in progress: the rest of the pass stays in the spool for the next start", async () => {
    const host = await setup();
    for (let i = 0; i < 5; i++) await host.deliver(`mail ${i}`);
    const pass = host.service.drainOnce();
    await until(() => host.logs.some((event) => event.event === "bot.event"), "the first entry to run", 30_000);
    await host.service.stop();
    const handled = await pass;
    expect(handled).toBe(5); // the pass had taken up all five
    const left = (await host.spool.all()).length;
    expect(left).toBeGreaterThanOrEqual(3);
    expect(host.smtp.accepted.length + left).toBe(5);
  });

  it("an entry leaves the spool only after its reply was submitted; the reply is encrypted the way the relay demands", async () => {
    const host = await setup();
    const { entry, messageId } = await host.deliver("hello");
    // While SMTP is down the entry stays put.
    host.smtp.plan(1, { fail: new Error("connect ECONNREFUSED 127.0.0.1:587") });
    expect(await host.service.drainOnce()).toBe(1);
    expect((await host.spool.all()).map((e) => e.id)).toEqual([entry.id]);
    host.clock.advance(backoffMs(1));
    await host.service.drainOnce();
    expect(await host.spool.all()).toEqual([]);
    expect(host.smtp.accepted).toHaveLength(1);
    const reply = host.smtp.accepted[0]!;
    expect(checkEncryptedMime(reply.raw)).toEqual({ ok: true });
    expect(reply.recipients).toEqual([USER]);
    expect(await host.read(reply)).toEqual({ text: "echo: hello", inReplyTo: messageId, signed: true });
  });

  it("SMTP failing on the first try: the entry stays with attempts 1 and nextAttemptAt = now + backoffMs(1); after the backoff the reply goes out under the Message-ID it would have had", async () => {
    const host = await setup({ source: COUNTER_BOT });
    const { entry, messageId } = await host.deliver("hi");
    host.smtp.plan(1, { fail: new Error("451 4.7.1 try again later") });
    const t0 = host.clock.now();
    await host.service.drainOnce();
    const [waiting] = await host.spool.all();
    expect(waiting).toMatchObject({ id: entry.id, attempts: 1, nextAttemptAt: t0 + backoffMs(1), lastError: "451 4.7.1 try again later" });
    const plan = waiting!.journal as MailPlan;
    expect(plan.submitted).toBe(0);
    // Not ready before its time: nothing is tried.
    host.clock.advance(backoffMs(1) - 1);
    expect(await host.service.drainOnce()).toBe(0);
    expect(host.smtp.submits).toBe(1);
    host.clock.advance(1);
    expect(await host.service.drainOnce()).toBe(1);
    expect(await host.spool.all()).toEqual([]);
    // Stable: derived from (bot, the incoming Message-ID, action 0), what the bot was told at run time.
    const expected = stableMessageId(host.addr, messageId, 0);
    expect(plan.mails[0]!.messageId).toBe(expected);
    expect(host.smtp.accepted.map((m) => m.messageId)).toEqual([expected]);
    expect(await host.read(host.smtp.accepted[0]!)).toMatchObject({ text: "run 1: hi" });
    expect(await botState(host.data, host.addr)).toEqual({ runs: 1 });
  });

  it("a crash after the plan was journaled but before SMTP: the restarted host sends the journaled reply without running the bot again", async () => {
    const host = await setup({ source: COUNTER_BOT });
    const { entry, messageId } = await host.deliver("hi");
    host.smtp.plan(1, "hang"); // the process dies inside the first submit
    void host.service.drainOnce();
    await host.smtp.hang;
    const [journaled] = await host.spool.all();
    expect(journaled).toMatchObject({ id: entry.id, attempts: 0 });
    expect((journaled!.journal as MailPlan).submitted).toBe(0);
    expect(await botState(host.data, host.addr)).toEqual({ runs: 1 }); // committed with the journal, before SMTP

    const restarted = host.start(new FakeSmtp());
    await restarted.spool.recover();
    expect(await restarted.service.drainOnce()).toBe(1);
    expect(await restarted.spool.all()).toEqual([]);
    expect(restarted.smtp.accepted.map((m) => m.messageId)).toEqual([stableMessageId(host.addr, messageId, 0)]);
    // Run twice, the counter would be 2 and the reply would say "run 2".
    expect(await host.read(restarted.smtp.accepted[0]!)).toMatchObject({ text: "run 1: hi" });
    expect(await botState(host.data, host.addr)).toEqual({ runs: 1 });
    expect(host.logs.filter((l) => l.event === "bot.event")).toHaveLength(1);
    expect(host.logs).toContainEqual(expect.objectContaining({ event: "spool.resume", entry: entry.id, submitted: 0, of: 1 }));
  });

  it("a crash between journaling a plan and committing its state: the restarted host commits it before the next mail runs, though that mail is planned while the first one's reply is still being submitted", async () => {
    const host = await setup({ source: COUNTER_BOT });
    await host.deliver("a");
    host.smtp.plan(1, "hang");
    void host.service.drainOnce();
    await host.smtp.hang;
    // Rewind to the moment after the first journal write: the plan still carries its state, and
    // state.json does not have it yet.
    const [journaled] = await host.spool.all();
    await host.spool.update(journaled!, { journal: { ...(journaled!.journal as MailPlan), state: { runs: "1" } } });
    writeFileSync(join(hostPaths(host.data).bot(host.addr).dir, "state.json"), "{}");
    await secondMailAfterRestart(host);
  });

  describe("a plan whose new state is journaled as what the event changed (plan-journal.ts)", () => {
    /** Deliver "a" with SMTP hanging and return the first journal the pipeline wrote for it (the one before the commit). */
    async function firstJournal(host: Awaited<ReturnType<typeof setup>>) {
      const journals: unknown[] = [];
      const update = host.spool.update.bind(host.spool);
      host.spool.update = async (entry, change) => {
        if (change.journal !== undefined) journals.push(structuredClone(change.journal));
        return update(entry, change);
      };
      await host.deliver("a");
      host.smtp.plan(1, "hang");
      void host.service.drainOnce();
      await host.smtp.hang;
      host.spool.update = update;
      return journals[0] as Record<string, unknown>;
    }

    it("the journal carries the changes, not the state, and not the run's result", async () => {
      const host = await setup({ source: COUNTER_BOT });
      const journal = await firstJournal(host);
      expect(journal).toMatchObject({ state: null, stateFromChanges: true, stateChanges: { deleted: [], set: { runs: "1" } }, submitted: 0 });
      expect(journal).not.toHaveProperty("report.result"); // the run's result holds the whole state too
      // After the commit the journal has neither.
      const [committed] = await host.spool.all();
      expect(committed!.journal).toMatchObject({ state: null });
      expect(committed!.journal).not.toHaveProperty("stateChanges");
      expect(committed!.journal).not.toHaveProperty("stateFromChanges");
      expect(committed!.journal).not.toHaveProperty("report.result");
    });

    for (const [when, stateOnDisk] of [
      ["before commitPlan saved the state", "{}"],
      ["after commitPlan saved the state, before the second journal write", undefined],
    ] as const) {
      it(`a crash ${when}: the restarted host applies the changes once, and the next mail runs on the state after`, async () => {
        const host = await setup({ source: COUNTER_BOT });
        const journal = await firstJournal(host);
        // Rewind to the moment after the first journal write.
        const [entry] = await host.spool.all();
        await host.spool.update(entry!, { journal });
        const dir = hostPaths(host.data).bot(host.addr).dir;
        if (stateOnDisk !== undefined) {
          writeFileSync(join(dir, "state.json"), stateOnDisk);
          rmSync(join(dir, "state.json.log"), { force: true });
        }
        expect(await botState(host.data, host.addr)).toEqual(stateOnDisk === undefined ? { runs: 1 } : {});
        await secondMailAfterRestart(host);
        expect(host.logs.filter((l) => l.event === "bot.event")).toHaveLength(2); // "a" ran once, before the crash
      });
    }
  });

  it("a resend of the reply to the mail before, while that reply is still being submitted, waits for it and resends it (same Message-ID)", async () => {
    const host = await setup({
      source: `import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    if (msg.text === "again") return void (await bot.resend((await bot.state.get<string>("last"))!, msg.chat.id));
    await bot.state.set("last", await bot.reply("got " + msg.text));
  },
});
`,
    });
    await host.deliver("a");
    host.clock.advance(1); // "again" after "a" in the spool's order
    await host.deliver("again");
    const slow = host.start(new SlowSmtp());
    expect(await slow.service.drainOnce()).toBe(2);
    expect(slow.smtp.accepted).toHaveLength(2);
    expect(slow.smtp.accepted[1]!.messageId).toBe(slow.smtp.accepted[0]!.messageId);
    expect(slow.smtp.accepted[1]!.raw).toBe(slow.smtp.accepted[0]!.raw);
    expect(host.logs.filter((l) => l.event === "bot.event" && l.skipped)).toEqual([]);
  });

  it("a crash after SMTP accepted mail 1 of 2: the restarted host resumes at mail 2", async () => {
    const host = await setup({ source: COUNTER_BOT });
    const { messageId } = await host.deliver("twice");
    host.smtp.plan(2, "hang");
    void host.service.drainOnce();
    await host.smtp.hang;
    expect(host.smtp.accepted.map((m) => m.messageId)).toEqual([stableMessageId(host.addr, messageId, 0)]);
    const [journaled] = await host.spool.all();
    expect((journaled!.journal as MailPlan).submitted).toBe(1);

    const restarted = host.start(new FakeSmtp());
    await restarted.service.drainOnce();
    expect(restarted.smtp.accepted.map((m) => m.messageId)).toEqual([stableMessageId(host.addr, messageId, 1)]);
    expect(await host.read(restarted.smtp.accepted[0]!)).toMatchObject({ text: "second mail of run 1" });
    expect(await restarted.spool.all()).toEqual([]);
    expect(await botState(host.data, host.addr)).toEqual({ runs: 1 });
  });

  it("a mail handled while an earlier one waits for its SMTP retry runs on the earlier one's state, and the retry does not undo it", async () => {
    const host = await setup({ source: COUNTER_BOT });
    host.smtp.plan(1, { fail: new Error("450 4.7.1 rate limited") });
    await host.deliver("a");
    await host.service.drainOnce();
    await host.deliver("b");
    await host.service.drainOnce(); // "a" is in backoff; "b" runs
    host.clock.advance(backoffMs(1));
    await host.service.drainOnce();
    expect(await host.spool.all()).toEqual([]);
    const texts = await Promise.all(host.smtp.accepted.map(async (m) => (await host.read(m)).text));
    expect(texts).toEqual(["run 2: b", "run 1: a"]);
    expect(await botState(host.data, host.addr)).toEqual({ runs: 2 });
  });

  it("a copy of a mail re-delivered while the original waits for its SMTP retry does not run the bot again", async () => {
    const host = await setup({ source: COUNTER_BOT });
    host.smtp.plan(1, { fail: new Error("450 4.7.1 rate limited") });
    const { raw, messageId } = await host.mail("once");
    await host.spool.write(host.addr, raw, MAIL_MAX_BYTES);
    await host.service.drainOnce();
    await host.spool.write(host.addr, raw, MAIL_MAX_BYTES);
    await host.service.drainOnce();
    host.clock.advance(backoffMs(1));
    await host.service.drainOnce();
    expect(await host.spool.all()).toEqual([]);
    expect(host.smtp.accepted.map((m) => m.messageId)).toEqual([stableMessageId(host.addr, messageId, 0)]);
    expect(await botState(host.data, host.addr)).toEqual({ runs: 1 });
  });

  it("after maxAttempts failures the entry is dead-lettered with the reason", async () => {
    const host = await setup({ config: { maxAttempts: 3 } });
    const { entry } = await host.deliver("hello");
    // nodemailer's error for a refused login: retried (the operator fixes the password), not settled.
    host.smtp.otherwise({
      fail: Object.assign(new Error("Invalid login: 535 5.7.8 authentication failed"), { code: "EAUTH", responseCode: 535, command: "AUTH PLAIN" }),
    });
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await host.service.drainOnce()).toBe(1);
      host.clock.advance(backoffMs(attempt));
    }
    expect(host.smtp.submits).toBe(3);
    expect(await host.spool.all()).toEqual([]);
    const dead = await host.spool.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      id: entry.id,
      attempts: 3,
      lastError: "Invalid login: 535 5.7.8 authentication failed",
      reason: "[SMTP_AUTH] after 3 attempts: Invalid login: 535 5.7.8 authentication failed",
    });
    expect(await host.service.drainOnce()).toBe(0);
  });

  it("a mail for an address that is not an installed bot, or for a disabled bot, is dead-lettered with the reason", async () => {
    const host = await setup();
    const raw = (await host.mail("anyone there?")).raw;
    const ghost = await host.spool.write("ghost@chat.test", raw, MAIL_MAX_BYTES);
    await host.service.drainOnce();
    await editBotSettings(host.data, host.addr, { enabled: false });
    const disabled = await host.spool.write(host.addr, raw, MAIL_MAX_BYTES);
    await host.service.drainOnce();
    expect(await host.spool.all()).toEqual([]);
    expect((await host.spool.deadLetters()).map((d) => [d.id, d.reason])).toEqual(
      [
        [ghost.id, "[BOT_NOT_INSTALLED] ghost@chat.test is not an installed bot"],
        [disabled.id, `[BOT_DISABLED] ${host.addr} is disabled`],
      ].sort(),
    );
    expect(host.smtp.submits).toBe(0);
  });

  it("a re-delivered identical mail (same Message-ID) runs the bot once", async () => {
    const host = await setup({ source: COUNTER_BOT });
    const { raw, messageId } = await host.mail("once");
    await host.spool.write(host.addr, raw, MAIL_MAX_BYTES);
    await host.service.drainOnce();
    // Postfix re-delivers after a lost 250, or a forwarder repeats it.
    await host.spool.write(host.addr, raw, MAIL_MAX_BYTES);
    await host.service.drainOnce();
    expect(await host.spool.all()).toEqual([]);
    expect(host.smtp.accepted).toHaveLength(1);
    expect(await botState(host.data, host.addr)).toEqual({ runs: 1 });
    expect(host.logs).toContainEqual(expect.objectContaining({ event: "mail.dropped", reason: `duplicate Message-ID ${messageId}` }));
  });
});

describe("host service: ticks", () => {
  /** The hourly bot with Alice subscribed, the clock at its install time. */
  async function subscribed() {
    const host = await setup({ source: SUBSCRIBER_BOT, manifest: { schedule: "hourly" } });
    await host.deliver("/sub");
    expect(await host.service.drainOnce()).toBe(1);
    expect(await host.read(host.smtp.accepted[0]!)).toMatchObject({ text: "subscribed" });
    const offset = tickOffsetMs(host.addr, "hourly");
    return {
      ...host,
      slot: (now: number) => nextTick("hourly", undefined, now, offset).at,
      next: (now: number) => nextTick("hourly", undefined, now, offset).next,
    };
  }

  it("a mail pretending to be a tick (the marker without the host's secret) is handled as mail and dropped; a real queued tick runs the tick handler", async () => {
    const host = await subscribed();
    await host.spool.write(
      host.addr,
      new TextEncoder().encode(`${TICK_MARKER}0123456789abcdef ${host.clock.now()}\r\nFrom: ${USER}\r\n\r\nhi\r\n`),
      MAIL_MAX_BYTES,
    );
    await host.service.drainOnce();
    expect(await host.spool.all()).toEqual([]);
    expect(host.logs).toContainEqual(expect.objectContaining({ event: "mail.dropped", bot: host.addr }));
    expect(host.logs.filter((l) => l.event === "bot.tick")).toEqual([]);
    expect(host.smtp.accepted).toHaveLength(1);
    expect(await host.spool.deadLetters()).toEqual([]);

    const at = host.clock.now();
    await host.spool.write(host.addr, tickEntry(await loadTickSecret(host.data), at), 1024);
    await host.service.drainOnce();
    expect(host.logs.filter((l) => l.event === "bot.tick")).toEqual([expect.objectContaining({ at, status: "ok", sent: 1 })]);
    expect(await host.read(host.smtp.accepted[1]!)).toMatchObject({ text: `tick at ${new Date(at).toISOString()}` });
    expect(host.smtp.accepted[1]!.messageId).toBe(stableMessageId(host.addr, `tick:${at}`, 0));
  });

  it("a tick queued twice (a crash between queueing it and noting it) runs once; the copy is dropped", async () => {
    const host = await subscribed();
    const at = host.clock.now();
    const secret = await loadTickSecret(host.data);
    await host.spool.write(host.addr, tickEntry(secret, at), 1024);
    await host.spool.write(host.addr, tickEntry(secret, at), 1024);
    while ((await host.service.drainOnce()) > 0);
    expect(host.logs.filter((l) => l.event === "bot.tick")).toEqual([expect.objectContaining({ at, status: "ok", sent: 1 })]);
    expect(host.smtp.accepted).toHaveLength(2);
    expect(await host.spool.all()).toEqual([]);
    expect(await botState(host.data, host.addr)).toMatchObject({ ticks: 1 });
  });

  it("hourly: passing the bot's slot queues exactly one tick; after 5 hours of downtime exactly one more", async () => {
    const host = await subscribed();
    const installedAt = host.clock.now();
    expect(await host.service.queueDueTicks()).toBe(0);
    // One ms before the slot nothing is due; at the slot one tick, and no second one for it.
    const slot = host.next(installedAt);
    host.clock.set(slot - 1);
    expect(await host.service.queueDueTicks()).toBe(0);
    host.clock.set(slot);
    expect(await host.service.queueDueTicks()).toBe(1);
    await host.service.drainOnce();
    await host.service.drainOnce();
    expect(host.logs.filter((l) => l.event === "tick.queued")).toEqual([expect.objectContaining({ at: slot })]);
    expect(host.smtp.accepted.slice(1)).toHaveLength(1);
    expect(await host.read(host.smtp.accepted[1]!)).toMatchObject({ text: `tick at ${new Date(slot).toISOString()}` });

    // Down for five hours (five slots pass): one tick, for the latest slot.
    host.clock.advance(5 * HOUR + 60_000);
    await host.service.drainOnce();
    await host.service.drainOnce();
    const latest = host.slot(host.clock.now());
    expect(latest).toBe(slot + 5 * HOUR);
    expect(host.logs.filter((l) => l.event === "tick.queued").map((l) => l.at)).toEqual([slot, latest]);
    expect(host.smtp.accepted).toHaveLength(3);
    expect(await host.read(host.smtp.accepted[2]!)).toMatchObject({ text: `tick at ${new Date(latest).toISOString()}` });
    expect(await botState(host.data, host.addr)).toMatchObject({ ticks: 2, subscribers: [USER] });
  });
});
