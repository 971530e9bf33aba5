// End-to-end smoke test of the test harness itself: the project's test relay (real Postfix +
// Dovecot) and the real Delta Chat core driver. If this fails, no other e2e result means anything.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventIs, startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, submissionTransport, type TestRelay } from "../support/relay.js";
import { until } from "../support/poll.js";

/** Files in a maildir's new/ and cur/ (none when the maildir does not exist). */
async function maildirFiles(maildir: string): Promise<string[]> {
  const lists = await Promise.all(
    ["new", "cur"].map((sub) =>
      readdir(join(maildir, sub)).then(
        (names) => names.map((name) => join(maildir, sub, name)),
        () => [],
      ),
    ),
  );
  return lists.flat();
}

describe.skipIf(!relayAvailable())("test relay with real Delta Chat cores", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;

  beforeAll(async () => {
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat()]);
  });

  afterAll(async () => {
    await dc?.close();
    await relay?.stop();
  });

  it("two real Delta Chat cores complete SecureJoin through the relay and exchange an encrypted message", async () => {
    const alice = await dc.createAccount(relay, "Alice", "alice@chat.test", "alice-password");
    const bob = await dc.createAccount(relay, "Bob", "bob@chat.test", "bob-password");
    expect(await dc.rpc.getConfig(alice, "is_chatmail")).toBe("1"); // the relay advertises XCHATMAIL

    // Alice scans Bob's contact QR code: Alice joins, Bob invites.
    const qr = await dc.rpc.getChatSecurejoinQrCode(bob, null);
    const joined = dc.waitFor(
      alice,
      eventIs("SecurejoinJoinerProgress", (e) => e.progress === 1000),
      30_000,
      "joiner progress 1000",
    );
    const invited = dc.waitFor(
      bob,
      eventIs("SecurejoinInviterProgress", (e) => e.progress === 1000),
      30_000,
      "inviter progress 1000",
    );
    const t0 = performance.now();
    const aliceChat = await dc.rpc.secureJoin(alice, qr);
    const [, inviterDone] = await Promise.all([joined, invited]);
    const secureJoinMs = performance.now() - t0;

    const [bobOnAlice] = await dc.rpc.getChatContacts(alice, aliceChat);
    expect((await dc.rpc.getContact(alice, bobOnAlice!)).isVerified).toBe(true);
    expect((await dc.rpc.getContact(bob, inviterDone.contactId)).isVerified).toBe(true);

    const text = `hello Bob, it is ${Date.now()}`;
    const received = dc.waitForIncomingMessage(bob, (m) => m.text === text);
    const t1 = performance.now();
    const sentId = await dc.rpc.miscSendTextMessage(alice, aliceChat, text);
    const message = await received;
    const messageMs = performance.now() - t1;

    expect(message.text).toBe(text);
    expect(message.showPadlock).toBe(true);
    expect(message.fromId).toBe(inviterDone.contactId);
    expect((await dc.rpc.getMessage(alice, sentId)).showPadlock).toBe(true);
    console.info(`relay smoke: SecureJoin ${Math.round(secureJoinMs)} ms, message ${Math.round(messageMs)} ms`);
  });

  it("mail to a bot address routed to the host reaches the pipe command byte for byte and never reaches Dovecot", async () => {
    const bot = "echo-bot@chat.test";
    await relay.addUser("sender@chat.test", "sender-password");
    // The bot also gets a Dovecot mailbox and a human control recipient rides along: if routing
    // failed, Dovecot would accept the bot's copy, and the control proves delivery to Dovecot works.
    await relay.addUser(bot, "unused-password");
    await relay.addUser("carol@chat.test", "carol-password");
    await relay.routeToHost(bot);

    const messageId = `<smoke-${Date.now()}@chat.test>`;
    const raw = [
      "From: sender@chat.test",
      `To: ${bot}, carol@chat.test`,
      "Subject: routed to the host",
      `Message-ID: ${messageId}`,
      "Date: Mon, 23 Nov 2026 10:00:00 +0000",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "",
      "/help",
      "second line",
      "",
    ].join("\r\n");
    const transport = submissionTransport(relay, "sender@chat.test", "sender-password"); // plaintext SASL on loopback, like the cores above
    try {
      await transport.sendMail({ envelope: { from: "sender@chat.test", to: [bot, "carol@chat.test"] }, raw });
    } finally {
      transport.close();
    }

    const [captured] = await until(
      async () => {
        const paths = await relay.capturedMails(bot);
        return paths.length > 0 ? paths : undefined;
      },
      "the pipe command to capture the bot's mail",
      10_000,
    );
    const [carolCopy] = await until(
      async () => {
        const files = await maildirFiles(relay.maildir("carol@chat.test"));
        return files.length > 0 ? files : undefined;
      },
      "the control copy in carol's maildir",
      10_000,
    );

    // pipe(8) hands over the message with LF line ends, after the Return-Path (flag R) and the
    // Received header Postfix adds; the message itself is untouched.
    const rawLf = raw.replaceAll("\r\n", "\n");
    const text = await readFile(captured!, "utf8");
    expect(text.startsWith("Return-Path: <sender@chat.test>\nReceived: ")).toBe(true);
    const added = text.slice(0, text.length - rawLf.length);
    expect(added).toMatch(/^Return-Path: <sender@chat\.test>\nReceived: [^\n]*(\n\t[^\n]*)*\n$/);
    expect(text.slice(added.length)).toBe(rawLf);
    expect(await readFile(carolCopy!, "utf8")).toContain(messageId);

    // Postfix logs a delivery after its pipe command exited and the captured file is there: wait for the line.
    const delivered = new RegExp(`to=<${bot}>, relay=chatbot, .*status=sent`);
    const log = await until(
      async () => {
        const text = await relay.readLog("postfix");
        return delivered.test(text) && /to=<carol@chat\.test>, relay=/.test(text) ? text : undefined;
      },
      "Postfix to log both deliveries",
      10_000,
    );
    expect(log).toMatch(delivered);
    expect(log).toMatch(/to=<carol@chat\.test>, relay=[^,]*dovecot-lmtp.*status=sent/);
    expect(await maildirFiles(relay.maildir(bot))).toEqual([]);
    expect(await relay.capturedMails("carol@chat.test")).toEqual([]);
  });
});
