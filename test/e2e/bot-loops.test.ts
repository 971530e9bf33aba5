// Mail loops on a real relay (issue 9, defect 7): two echo bots of one host, on one real Postfix +
// Dovecot, answer each other — bot A's reply reaches bot B and back — until the bot-to-bot bound
// stops the exchange; and a real bounce from Postfix (a bot's reply to an address with no mailbox)
// reaches the bot and does not run it. The service runs in this process with a fake clock that
// does not move, so every round falls in one hour. Needs root, `make relay-deps` and `make build`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTransport } from "nodemailer";
import { Executor } from "../../host/executor/executor.js";
import { hostLauncher } from "../support/host-walls.js";
import { BOT_EXCHANGE_EVENTS_PER_HOUR } from "../../core/limits.js";
import type { LogRecord } from "../../host/service/log-lines.js";
import { composeBotMessage } from "../../host/wire/bot-message.js";
import { createSmtpSubmitter } from "../../host/wire/smtp-submit.js";
import { HOST_BOT_PASSWORD, startHostOnRelay, type RunningHost } from "../support/host-on-relay.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { until } from "../support/poll.js";
import { newIdentity, userMail } from "../support/user-mail.js";

const domain = "chat.test";
const botA = `pingbot01@${domain}`;
const botB = `pongbot01@${domain}`;
const lonely = `lonelybot@${domain}`;

describe.skipIf(!relayAvailable())("mail loops on a real relay (two bots of one host, real Postfix bounces)", () => {
  let relay: TestRelay;
  let executor: Executor;
  let host: RunningHost;

  beforeAll(async () => {
    executor = new Executor({ launcher: await hostLauncher() });
    [relay] = await Promise.all([startRelay({ domain }), executor.warmUp()]);
    // The default bot source is the echo template: it answers every text with "echo: <text>".
    host = await startHostOnRelay(relay, executor, {}, [{ addr: botA }, { addr: botB }, { addr: lonely }]);
  }, 120_000);

  afterAll(async () => {
    await host?.stop();
    await executor?.close();
    await relay?.stop();
  });

  const lines = (bot: string, event: string, from?: string) =>
    host.logs.filter((l: LogRecord) => l.bot === bot && l.event === event && (from === undefined || l.from === from));

  /** Wait until the spool is empty and nothing new was logged for a while (a mail in flight would show up). */
  async function quiet(): Promise<void> {
    let seen = -1;
    await until(
      async () => {
        const settled = (await host.spool.all()).length === 0 && host.logs.length === seen;
        seen = host.logs.length;
        if (!settled) await new Promise((resolve) => setTimeout(resolve, 1500));
        return settled;
      },
      "the host to go quiet",
      90_000,
    );
  }

  it(`bot ping-pong: A's echo reaches B and B's comes back, ${BOT_EXCHANGE_EVENTS_PER_HOUR} rounds each, then B drops A's next mail (logged once) and the exchange stops`, async () => {
    const a = (await host.service.bot(botA))!.bot.account;
    const b = (await host.service.bot(botB))!.bot.account;
    // The first mail is A's, written the way A's replies are (A's key, Auto-Submitted, its account's
    // SMTP login): no bot writes first to a chat that never wrote to it (consent).
    const kick = await composeBotMessage(
      a,
      { to: [{ addr: botB }], recipients: [botB], subject: `Message from ${a.name}`, body: { kind: "text", text: "ping" } },
      { keys: [b.identity.publicKey] },
    );
    const submitter = createSmtpSubmitter({
      host: "127.0.0.1",
      port: relay.submissionPort,
      secure: false,
      user: botA,
      password: HOST_BOT_PASSWORD,
      allowSelfSigned: true,
    });
    try {
      await submitter.submit(kick);
    } finally {
      submitter.close();
    }

    await until(() => lines(botB, "mail.dropped").some((l) => String(l.reason).startsWith("bot-to-bot bound")), "B to reach the bound", 120_000);
    await quiet();

    expect(lines(botB, "bot.event", botA)).toHaveLength(BOT_EXCHANGE_EVENTS_PER_HOUR);
    expect(lines(botA, "bot.event", botB)).toHaveLength(BOT_EXCHANGE_EVENTS_PER_HOUR);
    expect([...lines(botA, "bot.event"), ...lines(botB, "bot.event")].every((l) => l.status === "ok" && l.sent === 1)).toBe(true);
    const dropped = lines(botB, "mail.dropped");
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.reason).toMatch(
      new RegExp(`^bot-to-bot bound: ${BOT_EXCHANGE_EVENTS_PER_HOUR} events per hour from ${botA} \\(another bot of this host\\) reached`),
    );
    expect(lines(botA, "mail.dropped")).toEqual([]);
  }, 180_000);

  it("bounce: the bot's reply to an address with no mailbox comes back from Postfix as a delivery report, which does not run the bot", async () => {
    const ghost = `ghost0001@${domain}`; // no account on the relay: Dovecot refuses the delivery
    const key = (await host.service.bot(lonely))!.bot.account.identity.publicKey;
    const hello = await userMail({
      from: ghost,
      to: lonely,
      recipientKey: key,
      signer: await newIdentity(ghost),
      body: { kind: "text", text: "hello from nowhere" },
    });
    // Sent like another relay would (port 25, no login): the ghost has no account to submit with.
    const mta = createTransport({ host: "127.0.0.1", port: relay.smtpPort, secure: false, ignoreTLS: true });
    try {
      await mta.sendMail({ envelope: { from: ghost, to: [lonely] }, raw: hello.text });
    } finally {
      mta.close();
    }

    await until(() => lines(lonely, "mail.dropped").length > 0, "the bounce to reach the bot", 60_000);
    await quiet();
    expect(lines(lonely, "bot.event", ghost)).toEqual([expect.objectContaining({ status: "ok", sent: 1 })]);
    expect(lines(lonely, "bot.event")).toHaveLength(1);
    const [dropped] = lines(lonely, "mail.dropped");
    expect(dropped!.reason).toBe("automatic response (Auto-Submitted: auto-replied): RFC 3834 forbids answering it");
    expect(await relay.readLog("postfix")).toMatch(new RegExp(`to=<${ghost}>.*status=bounced`));
  }, 120_000);
});
