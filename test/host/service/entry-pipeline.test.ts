// The entry pipeline (host/service/entry-pipeline.ts) alone, one entry at a time: a real spool in a
// temp dir, a real sandbox, bots installed like an operator does, the real registry, submitter pool
// and tick scheduler, a fake clock and a fake SMTP (as host-service.test.ts).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sandboxAndSender } from "../../support/sandbox-and-sender.js";
import { MAIL_MAX_BYTES } from "../../../core/limits.js";
import { BotRegistry } from "../../../host/service/bot-registry.js";
import { EntryPipeline } from "../../../host/service/entry-pipeline.js";
import type { MailPlan } from "../../../host/service/handle-mail.js";
import { loadHostConfig } from "../../../host/service/host-config.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { hostPaths } from "../../../host/service/paths.js";
import { isPaused, pauseBot } from "../../../host/service/author-controls.js";
import { ChatbotError } from "../../../core/errors.js";
import { PROBE_HEADER } from "../../../host/service/deploy-check.js";
import { backoffMs } from "../../../host/service/retry-policy.js";
import { SubmitterPool } from "../../../host/service/submitter-pool.js";
import { TickScheduler, tickEntry } from "../../../host/service/tick-scheduler.js";
import { Spool } from "../../../host/spool/spool.js";
import { FakeClock, FakeSmtp, SUBSCRIBER_BOT, botSettings, botState, initHost, installBot } from "../../support/host-fixture.js";
import { userMail } from "../../support/user-mail.js";

const USER = "alice@chat.test";
const ADDR = "bot@chat.test";
const sandbox = sandboxAndSender(USER);

/** A host with the subscriber bot, and the pipeline composed as host-service.ts does. */
async function setup(stateIoLimits?: { stateWriteBytesPerSecond: number; stateWriteOpsPerSecond: number }) {
  const work = mkdtempSync(join(tmpdir(), "entry-pipeline-"));
  const data = await initHost(work);
  await installBot(work, data, { addr: ADDR, source: SUBSCRIBER_BOT, manifest: { schedule: "hourly" } });
  const clock = new FakeClock((await botSettings(data, ADDR)).installedAt);
  const config = await loadHostConfig(hostPaths(data).config, data);
  const logs: HostEvent[] = [];
  const log = (event: HostEvent) => logs.push(event);
  const smtp = new FakeSmtp();
  const spool = new Spool(hostPaths(data).spool, clock);
  const registry = new BotRegistry({ dataDir: data, config, clock, log, ...(stateIoLimits ? { stateIoLimits } : {}) });
  const submitters = new SubmitterPool({ submitterFor: () => smtp, clock, pacing: config.pacing, sleep: async () => {} });
  const ticks = new TickScheduler({ dataDir: data, spool, registry, clock, log });
  /** The mails handed to the paused bot's INBOX (toMailbox), and whether the next hand-over fails. */
  const mailbox: { raws: Uint8Array[]; fail?: Error } = { raws: [] };
  const toMailbox = async (_bot: unknown, raw: Uint8Array) => {
    if (mailbox.fail) throw mailbox.fail;
    mailbox.raws.push(raw);
  };
  const pipeline = new EntryPipeline({
    config,
    spool,
    executor: sandbox.executor,
    registry,
    submitters,
    ticks,
    clock,
    log,
    isPaused: (addr) => isPaused(data, addr),
    toMailbox,
  });
  const botKey = (await registry.bot(ADDR))!.bot.account.identity.publicKey;
  const deliver = async (text: string, to = ADDR) => {
    const mail = await userMail({ from: USER, to, recipientKey: botKey, signer: sandbox.sender, body: { kind: "text", text } });
    return spool.write(to, mail.raw, MAIL_MAX_BYTES);
  };
  const settled = async () => {};
  return { data, clock, logs, smtp, spool, ticks, pipeline, deliver, settled, mailbox };
}

describe("entry pipeline", () => {
  it("a mail: the plan is journaled and its state and seen mark committed before any mail goes out; the submit step then sends and completes the entry", async () => {
    const host = await setup();
    const entry = await host.deliver("/sub");
    const submit = await host.pipeline.prepare(entry, host.settled);
    expect(submit).toBeDefined();
    expect(host.smtp.submits).toBe(0);
    expect(await botState(host.data, ADDR)).toMatchObject({ subscribers: [USER] });
    const [journaled] = await host.spool.all();
    expect(journaled!.journal as MailPlan).toMatchObject({ submitted: 0, state: null, mails: [expect.objectContaining({ recipients: [USER] })] });
    expect((journaled!.journal as MailPlan).seen).toBeUndefined();
    await submit!();
    expect(host.smtp.accepted).toHaveLength(1);
    expect(await host.spool.all()).toEqual([]);
  });

  it("a tick goes through the same pipeline: recognised by the tick secret, run by the tick handler", async () => {
    const host = await setup();
    const at = host.clock.now();
    const entry = await host.spool.write(ADDR, tickEntry(await host.ticks.tickSecret(), at), 1024);
    const submit = await host.pipeline.prepare(entry, host.settled);
    await submit!();
    expect(host.logs.filter((l) => l.event === "bot.tick")).toEqual([expect.objectContaining({ at, status: "ok", sent: 0 })]);
    expect(await botState(host.data, ADDR)).toMatchObject({ ticks: 1 });
    expect(await host.spool.all()).toEqual([]);
  });

  it("an entry for an address that is not an installed bot is dead-lettered at once, with its code", async () => {
    const host = await setup();
    const entry = await host.deliver("hello", "nobody@chat.test");
    expect(await host.pipeline.prepare(entry, host.settled)).toBeUndefined();
    expect(await host.spool.all()).toEqual([]);
    expect(host.logs).toEqual([
      expect.objectContaining({ event: "spool.dead", code: "BOT_NOT_INSTALLED", reason: "[BOT_NOT_INSTALLED] nobody@chat.test is not an installed bot" }),
    ]);
  });

  it("SMTP failing: the entry stays journaled with attempts 1 and the backoff, and a spool.retry line says why", async () => {
    const host = await setup();
    host.smtp.plan(1, { fail: Object.assign(new Error("451 4.7.1 try again later"), { responseCode: 451 }) });
    const entry = await host.deliver("hello");
    await (await host.pipeline.prepare(entry, host.settled))!();
    const [waiting] = await host.spool.all();
    expect(waiting).toMatchObject({ id: entry.id, attempts: 1, nextAttemptAt: host.clock.now() + backoffMs(1), lastError: "451 4.7.1 try again later" });
    expect((waiting!.journal as MailPlan).mails).toHaveLength(1);
    expect(host.logs.filter((l) => l.event === "spool.retry")).toEqual([expect.objectContaining({ code: "SMTP_4XX", attempts: 1 })]);
  });

  it("over the state-IO limit, a new entry waits in the spool without running the bot", async () => {
    const host = await setup({ stateWriteBytesPerSecond: 1_000_000, stateWriteOpsPerSecond: 1 });
    await (await host.pipeline.prepare(await host.deliver("/sub"), host.settled))!();
    const second = await host.deliver("again");
    expect(await host.pipeline.prepare(second, host.settled)).toBeUndefined();
    const [waiting] = await host.spool.all();
    expect(waiting).toMatchObject({ id: second.id, nextAttemptAt: host.clock.now() + 1_000 });
    expect(waiting!.journal).toBeUndefined();
    expect(host.logs.filter((l) => l.event === "bot.deferred")).toEqual([
      expect.objectContaining({ reason: "bot state writes stateWriteOpsPerSecond used up" }),
    ]);
  });

  describe("a bot its author paused", () => {
    const route = { transportMap: undefined, transportNexthop: undefined, lmtpSocket: "/x", postfixConfigDir: undefined };

    it("a mail spooled before the pause goes to the account's INBOX as it came, unrun, and leaves the spool", async () => {
      const host = await setup();
      const entry = await host.deliver("/sub");
      const raw = Buffer.from(await host.spool.read(entry));
      await pauseBot(host.data, route, ADDR, host.clock.now());
      expect(await host.pipeline.prepare(entry, host.settled)).toBeUndefined();
      expect(host.mailbox.raws.map((m) => Buffer.from(m).equals(raw))).toEqual([true]);
      expect(await botState(host.data, ADDR)).not.toMatchObject({ subscribers: [USER] });
      expect(host.smtp.submits).toBe(0);
      expect(await host.spool.all()).toEqual([]);
      expect(host.logs).toEqual([{ event: "bot.paused", bot: ADDR, entry: entry.id, kind: "mail", to: "mailbox" }]);
    });

    it("a tick is dropped, not run", async () => {
      const host = await setup();
      const entry = await host.spool.write(ADDR, tickEntry(await host.ticks.tickSecret(), host.clock.now()), 1024);
      await pauseBot(host.data, route, ADDR, host.clock.now());
      expect(await host.pipeline.prepare(entry, host.settled)).toBeUndefined();
      expect(host.mailbox.raws).toEqual([]);
      expect(await botState(host.data, ADDR)).not.toMatchObject({ ticks: 1 });
      expect(await host.spool.all()).toEqual([]);
      expect(host.logs).toEqual([{ event: "bot.paused", bot: ADDR, entry: entry.id, kind: "tick", to: "dropped" }]);
    });

    it("an IMAP failure handing the mail over is retried later, the mail kept in the spool", async () => {
      const host = await setup();
      const entry = await host.deliver("hello");
      await pauseBot(host.data, route, ADDR, host.clock.now());
      host.mailbox.fail = new ChatbotError("E_IMAP", "imap.chat.test:993: connection refused");
      expect(await host.pipeline.prepare(entry, host.settled)).toBeUndefined();
      expect(await host.spool.all()).toEqual([expect.objectContaining({ id: entry.id, attempts: 1 })]);
      expect(host.logs.filter((l) => l.event === "spool.retry")).toEqual([expect.objectContaining({ code: "E_IMAP" })]);
    });

    it("an entry the bot already ran before the pause (journaled) still sends its replies", async () => {
      const host = await setup();
      host.smtp.plan(1, { fail: Object.assign(new Error("451 4.7.1 try again later"), { responseCode: 451 }) });
      const entry = await host.deliver("/sub");
      await (await host.pipeline.prepare(entry, host.settled))!();
      await pauseBot(host.data, route, ADDR, host.clock.now());
      const [journaled] = await host.spool.all();
      await (await host.pipeline.prepare(journaled!, host.settled))!();
      expect(host.smtp.accepted).toHaveLength(1);
      expect(host.mailbox.raws).toEqual([]);
      expect(await host.spool.all()).toEqual([]);
    });
  });

  describe("host doctor's route probe", () => {
    const probe = (nonce: string) => new TextEncoder().encode(`${PROBE_HEADER}: ${nonce}\r\nFrom: <${ADDR}>\r\nTo: <${ADDR}>\r\n\r\nprobe\r\n`);

    it("is logged as route.probe and settled, never run", async () => {
      const host = await setup();
      const entry = await host.spool.write(ADDR, probe("0123456789abcdef"), 1024);
      expect(await host.pipeline.prepare(entry, host.settled)).toBeUndefined();
      expect(host.logs).toEqual([{ event: "route.probe", bot: ADDR, nonce: "0123456789abcdef" }]);
      expect(await host.spool.all()).toEqual([]);
      expect(host.smtp.submits).toBe(0);
    });

    it("reaching a bot the operator disabled still proves the route: route.probe, not a BOT_DISABLED dead letter", async () => {
      const host = await setup();
      const config = hostPaths(host.data).bot(ADDR).config;
      writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, "utf8")), enabled: false }));
      const entry = await host.spool.write(ADDR, probe("fedcba9876543210"), 1024);
      expect(await host.pipeline.prepare(entry, host.settled)).toBeUndefined();
      expect(host.logs).toEqual([{ event: "route.probe", bot: ADDR, nonce: "fedcba9876543210" }]);
      const mail = await host.deliver("hello");
      await host.pipeline.prepare(mail, host.settled);
      expect(host.logs.at(-1)).toMatchObject({ event: "spool.dead", code: "BOT_DISABLED" });
    });
  });
});
