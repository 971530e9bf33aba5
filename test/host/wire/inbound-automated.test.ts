// Mail loops (issue 9, defect 7), with real encrypted and signed mails: the bot never runs on an
// automatic response, a bounce or a read receipt — whether the marker is on the outer headers or
// the protected ones — and runs on at most BOT_EXCHANGE_EVENTS_PER_HOUR mails per hour from one
// automated sender (a bot), so two bots answering each other stop.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BOT_EXCHANGE_EVENTS_PER_HOUR } from "../../../core/limits.js";
import { receiveMail, type Inbound } from "../../../host/wire/inbound.js";
import { openBotAccount, type BotAccount } from "../../../host/wire/bot-account.js";
import { newMessageId } from "../../../host/wire/mime/compose.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { formatAutocryptHeader } from "../../../host/wire/pgp/autocrypt.js";
import { newIdentity, userMail, userMailFromInner, type UserMail } from "../../support/user-mail.js";
import { planMail } from "../../../host/service/handle-mail.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { BotStateFile } from "../../../host/service/bot-state-file.js";
import type { Executor } from "../../../host/executor/executor.js";

const LIMITS = { maxBytes: 1024 * 1024 };
const BOT = "echobot01@chat.test";
const ALICE = "alice@chat.test";
const OTHER_BOT = "otherbot1@chat.test";
const HOUR = 60 * 60_000;

let alice: BotIdentity;
let otherBot: BotIdentity;

beforeAll(async () => {
  [alice, otherBot] = await Promise.all([newIdentity(ALICE), newIdentity(OTHER_BOT)]);
});

async function bot(options: { hostBots?: string[] } = {}): Promise<{ account: BotAccount; clock: { now: number } }> {
  const clock = { now: Date.now() };
  const hostBots = new Set(options.hostBots ?? []);
  const account = await openBotAccount(
    mkdtempSync(join(tmpdir(), "inbound-automated-")),
    BOT,
    "Echo Bot",
    { now: () => clock.now },
    { isHostBot: (addr) => hostBots.has(addr) },
  );
  return { account, clock };
}

function mail(account: BotAccount, overrides: Partial<UserMail>) {
  return userMail({ from: ALICE, to: BOT, recipientKey: account.identity.publicKey, signer: alice, body: { kind: "text", text: "hello" }, ...overrides });
}

function fromOtherBot(account: BotAccount, text: string, headers: Array<[string, string]> = [["Auto-Submitted", "auto-generated"]]) {
  return userMail({ from: OTHER_BOT, to: BOT, recipientKey: account.identity.publicKey, signer: otherBot, body: { kind: "text", text }, headers });
}

function reason(result: Inbound): string {
  expect(result.kind, JSON.stringify(result)).toBe("drop");
  return result.kind === "drop" ? result.reason : "";
}

/** Core 2.57's read receipt (mimefactory.rs render_mdn), encrypted and signed by Alice as core sends it. */
function coreReadReceipt(account: BotAccount, options: { autoSubmitted: boolean }) {
  const messageId = newMessageId("chat.test");
  const boundary = "mdn-boundary-1";
  const inner = [
    `Content-Type: multipart/report; report-type=disposition-notification; boundary="${boundary}"; protected-headers="v1"; hp="cipher"`,
    `From: <${ALICE}>`,
    `To: <${BOT}>`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: ${messageId}`,
    "Subject: Receipt Notification",
    "Chat-Version: 1.0",
    ...(options.autoSubmitted ? ["Auto-Submitted: auto-replied"] : []),
    `Autocrypt: ${formatAutocryptHeader(ALICE, alice.keydataBase64)}`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "",
    "This is a receipt notification.",
    `--${boundary}`,
    "Content-Type: message/disposition-notification",
    "",
    `Original-Recipient: rfc822;${ALICE}`,
    `Final-Recipient: rfc822;${ALICE}`,
    "Original-Message-ID: <reply-1@chat.test>",
    "Disposition: manual-action/MDN-sent-automatically; displayed",
    "",
    `--${boundary}--`,
    "",
  ].join("\r\n");
  return userMailFromInner({ from: ALICE, recipientKey: account.identity.publicKey, signer: alice, inner, messageId });
}

/** A bounce as Postfix writes it (bounce(8) with its default template): unencrypted, multipart/report. */
function postfixBounce(): Uint8Array {
  const boundary = "4B1C2.1796201707/mail.chat.test";
  const text = [
    "Return-Path: <>",
    "Date: Wed,  2 Dec 2026 08:51:18 +0000 (UTC)",
    "From: MAILER-DAEMON@mail.chat.test (Mail Delivery System)",
    "Subject: Undelivered Mail Returned to Sender",
    `To: ${BOT}`,
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"`,
    "Content-Transfer-Encoding: 8bit",
    "Message-Id: <20261202085118.4B1C2@mail.chat.test>",
    "",
    "This is a MIME-encapsulated message.",
    "",
    `--${boundary}`,
    "Content-Description: Notification",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "This is the mail system at host mail.chat.test.",
    "",
    "I'm sorry to have to inform you that your message could not",
    "be delivered to one or more recipients.",
    "",
    `--${boundary}`,
    "Content-Description: Delivery report",
    "Content-Type: message/delivery-status",
    "",
    "Reporting-MTA: dns; mail.chat.test",
    "",
    "Final-Recipient: rfc822; ghost@chat.test",
    "Action: failed",
    "Status: 5.1.1",
    "",
    `--${boundary}--`,
    "",
  ].join("\r\n");
  return new Uint8Array(Buffer.from(text));
}

describe("the bot never runs on mail no responder may answer (RFC 3834)", () => {
  it("auto-reply loop: Auto-Submitted: auto-replied in the protected headers is dropped, and its Message-ID is not marked seen", async () => {
    const { account } = await bot();
    const m = await mail(account, { headers: [["Auto-Submitted", "auto-replied"]] });
    expect(reason(await receiveMail(account, m.raw, LIMITS))).toBe("automatic response (Auto-Submitted: auto-replied): RFC 3834 forbids answering it");
    expect(await account.seen.has(ALICE, m.messageId)).toBe(false);
  });

  it("auto-reply loop: the marker only on the outer headers of an encrypted mail is enough", async () => {
    const { account } = await bot();
    const m = await mail(account, { outerHeaders: [["Auto-Submitted", "auto-replied (vacation)"]] });
    expect(reason(await receiveMail(account, m.raw, LIMITS))).toMatch(/^automatic response \(Auto-Submitted: auto-replied\)/);
  });

  it("Auto-Submitted: auto-notified (RFC 5436) and unknown values are automatic responses too", async () => {
    const { account } = await bot();
    for (const value of ["auto-notified", "auto-something; owner=x@y"]) {
      const m = await mail(account, { headers: [["Auto-Submitted", value]] });
      expect(reason(await receiveMail(account, m.raw, LIMITS))).toMatch(/^automatic response/);
    }
  });

  it("Auto-Submitted: no is a person's mail: the bot runs", async () => {
    const { account } = await bot();
    const m = await mail(account, { headers: [["Auto-Submitted", "no"]] });
    expect((await receiveMail(account, m.raw, LIMITS)).kind).toBe("event");
  });

  it("read receipt: core's MDN (encrypted, signed, multipart/report; report-type=disposition-notification, Auto-Submitted: auto-replied) does not run the bot", async () => {
    const { account } = await bot();
    const mdn = await coreReadReceipt(account, { autoSubmitted: true });
    expect(reason(await receiveMail(account, mdn.raw, LIMITS))).toMatch(/^automatic response \(Auto-Submitted: auto-replied\)/);
  });

  it("read receipt: the report type alone (no Auto-Submitted) is enough", async () => {
    const { account } = await bot();
    const mdn = await coreReadReceipt(account, { autoSubmitted: false });
    expect(reason(await receiveMail(account, mdn.raw, LIMITS))).toBe("read receipt (multipart/report; report-type=disposition-notification)");
  });

  it("bounce: Postfix's delivery status notification is dropped as a bounce (not merely as unencrypted)", async () => {
    const { account } = await bot();
    expect(reason(await receiveMail(account, postfixBounce(), LIMITS))).toMatch(/^automatic response \(Auto-Submitted: auto-replied\)/);
  });

  it("a webxdc status update from a person runs the bot, although core marks every update auto-generated", async () => {
    const { account } = await bot();
    const m = await mail(account, {
      body: { kind: "webxdc-status", updates: [{ payload: 1 }] },
      inReplyTo: "<app@chat.test>",
      headers: [["Auto-Submitted", "auto-generated"]],
    });
    expect((await receiveMail(account, m.raw, LIMITS)).kind).toBe("event");
  });
});

describe("Secure-Join steps are protocol: Auto-Submitted: auto-replied does not stop them (issue 10)", () => {
  // Core 1.x and 2.x up to 2.33 mark every handshake step after the first so (mimefactory.rs):
  // dropping them left every join from those clients hanging at progress 400.
  const step = (account: BotAccount, where: "inner" | "outer" | "both") =>
    mail(account, {
      headers: [
        ["Secure-Join", "vc-request-with-auth"],
        ["Secure-Join-Auth", "no-such-auth-token"],
        ...(where !== "outer" ? ([["Auto-Submitted", "auto-replied"]] as Array<[string, string]>) : []),
      ],
      outerHeaders: where !== "inner" ? [["Auto-Submitted", "auto-replied"]] : [],
    });

  it("a vc-request-with-auth marked auto-replied (protected headers, outer headers, or both) reaches the SecureJoin responder", async () => {
    for (const where of ["inner", "outer", "both"] as const) {
      const { account } = await bot();
      const result = await receiveMail(account, (await step(account, where)).raw, LIMITS);
      // The responder got it: it answers nothing here only because the auth token is unknown.
      expect(result, where).toMatchObject({ kind: "handshake", outcome: { replies: [] } });
    }
  });

  it("the exemption is for handshake steps only: the same marker on chat text still drops it", async () => {
    const { account } = await bot();
    const m = await mail(account, { headers: [["Auto-Submitted", "auto-replied"]], outerHeaders: [["Auto-Submitted", "auto-replied"]] });
    expect(reason(await receiveMail(account, m.raw, LIMITS))).toMatch(/^automatic response/);
  });

  it("a Secure-Join header does not excuse a bounce or a receipt: the report type still drops it", async () => {
    const { account } = await bot();
    const m = await mail(account, {
      headers: [["Secure-Join", "vc-request-with-auth"]],
      outerHeaders: [["Content-Type", "multipart/report; report-type=delivery-status"]],
    });
    expect(reason(await receiveMail(account, m.raw, LIMITS))).toMatch(/delivery status notification/);
  });
});

describe("bot-to-bot exchanges are bounded", () => {
  it(`bot ping-pong: at the bound (${BOT_EXCHANGE_EVENTS_PER_HOUR} mails an hour from an auto-generated sender) the bot runs; one over is dropped and logged once, later ones quietly`, async () => {
    const { account } = await bot();
    for (let i = 1; i <= BOT_EXCHANGE_EVENTS_PER_HOUR; i++) {
      const result = await receiveMail(account, (await fromOtherBot(account, `ping ${i}`)).raw, LIMITS);
      expect(result.kind, `mail ${i}`).toBe("event");
    }
    const over = await receiveMail(account, (await fromOtherBot(account, "one too many")).raw, LIMITS);
    expect(reason(over)).toMatch(
      new RegExp(`^bot-to-bot bound: ${BOT_EXCHANGE_EVENTS_PER_HOUR} events per hour from ${OTHER_BOT} \\(marked Auto-Submitted: auto-generated\\) reached`),
    );
    expect(over).not.toHaveProperty("quiet");
    const again = await receiveMail(account, (await fromOtherBot(account, "and another")).raw, LIMITS);
    expect(again).toMatchObject({ kind: "drop", quiet: true });
  });

  it("the window slides: an hour after the first counted mail, one more runs", async () => {
    const { account, clock } = await bot();
    for (let i = 0; i < BOT_EXCHANGE_EVENTS_PER_HOUR; i++) {
      await receiveMail(account, (await fromOtherBot(account, `ping ${i}`)).raw, LIMITS);
      clock.now += 60_000;
    }
    expect((await receiveMail(account, (await fromOtherBot(account, "refused")).raw, LIMITS)).kind).toBe("drop");
    clock.now += HOUR - BOT_EXCHANGE_EVENTS_PER_HOUR * 60_000 + 1;
    expect((await receiveMail(account, (await fromOtherBot(account, "fits again")).raw, LIMITS)).kind).toBe("event");
    expect((await receiveMail(account, (await fromOtherBot(account, "but only one")).raw, LIMITS)).kind).toBe("drop");
  });

  it("headerless bot: mail from another bot of this host counts even when its headers omit Auto-Submitted", async () => {
    const { account } = await bot({ hostBots: [OTHER_BOT] });
    for (let i = 0; i < BOT_EXCHANGE_EVENTS_PER_HOUR; i++) {
      expect((await receiveMail(account, (await fromOtherBot(account, `ping ${i}`, [])).raw, LIMITS)).kind).toBe("event");
    }
    expect(reason(await receiveMail(account, (await fromOtherBot(account, "over", [])).raw, LIMITS))).toMatch(/\(another bot of this host\) reached/);
  });

  it("a person's mail is not counted: more than the bound in an hour all run", async () => {
    const { account } = await bot();
    for (let i = 0; i <= BOT_EXCHANGE_EVENTS_PER_HOUR; i++) {
      expect((await receiveMail(account, (await mail(account, { body: { kind: "text", text: `hi ${i}` } })).raw, LIMITS)).kind).toBe("event");
    }
  });

  it("a duplicate of a counted mail is dropped as a duplicate and not counted again", async () => {
    const { account } = await bot();
    const first = await fromOtherBot(account, "once");
    expect((await receiveMail(account, first.raw, LIMITS)).kind).toBe("event");
    for (let i = 0; i < BOT_EXCHANGE_EVENTS_PER_HOUR; i++) expect(reason(await receiveMail(account, first.raw, LIMITS))).toMatch(/^duplicate Message-ID/);
    expect((await receiveMail(account, (await fromOtherBot(account, "second")).raw, LIMITS)).kind).toBe("event");
  });
});

describe("the service logs the bound's refusal once", () => {
  it("planMail: the first mail over the bound is logged as mail.dropped, the next one is dropped without a log line", async () => {
    const { account } = await bot();
    for (let i = 0; i < BOT_EXCHANGE_EVENTS_PER_HOUR; i++) await account.exchanges.admit(OTHER_BOT); // the bound is used up
    const logs: HostEvent[] = [];
    const unused = {} as Executor; // drops never reach the sandbox
    const hosted = {
      account,
      bundle: { id: "x", code: "", filename: "bot.js" },
      limits: {} as never,
      origins: [],
      state: new BotStateFile(join(tmpdir(), "unused-state.json")),
    };
    const deps = {
      executor: unused,
      submitter: { submit: async () => {}, close: () => {} },
      log: (line: HostEvent) => logs.push(line),
      maxMailBytes: LIMITS.maxBytes,
    };
    const first = await planMail(hosted, (await fromOtherBot(account, "over")).raw, deps);
    const second = await planMail(hosted, (await fromOtherBot(account, "over again")).raw, deps);
    expect(first.report).toMatchObject({ outcome: "dropped", reason: expect.stringMatching(/^bot-to-bot bound/) });
    expect(second.report).toMatchObject({ outcome: "dropped", reason: expect.stringMatching(/^bot-to-bot bound/) });
    expect(logs).toEqual([expect.objectContaining({ event: "mail.dropped", bot: BOT, reason: first.report.reason })]);
  });
});
