// A real Delta Chat core (2.57) and the echo bot on the test relay: a 300 kB file — which the
// sending core splits into a pre-message and a post-message (PROTOCOL §2, > 140000 bytes) — comes
// back byte for byte, so the host joined the halves; and a message that claims to be from the
// user but is signed by another key is dropped, while the user's next genuine message is answered.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { startBotOnRelay, type BotOnRelay } from "../support/bot-harness.js";
import { createSmtpSubmitter } from "../../host/wire/smtp-submit.js";
import { newIdentity, userMail } from "../support/user-mail.js";
import type { MailReport } from "../../host/service/handle-mail.js";

const FILE_BYTES = 300_000;

describe.skipIf(!relayAvailable())("attachments and forgery with a real Delta Chat client", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  let echo: BotOnRelay;

  beforeAll(async () => {
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat()]);
    echo = await startBotOnRelay(relay, { addr: `echobot03@${relay.domain}`, name: "Echo Bot" });
  });

  afterAll(async () => {
    await echo?.stop();
    await dc?.close();
    await relay?.stop();
  });

  /** A new account that completed SecureJoin with the bot: its id, chat with the bot, address and password. */
  async function joined(name: string) {
    const addr = `${name.toLowerCase()}@${relay.domain}`;
    const password = `${name.toLowerCase()}-password`;
    const account = await dc.createAccount(relay, name, addr, password);
    const chatId = await dc.joinByQr(account, await echo.invite(), 30_000);
    return { account, chatId, addr, password };
  }

  /** The reports the harness adds after `from`, once `count` of them are there. */
  async function nextReports(from: number, count: number, timeoutMs = 20_000): Promise<MailReport[]> {
    const deadline = Date.now() + timeoutMs;
    while (echo.reports.length < from + count) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} reports; have ${JSON.stringify(echo.reports.slice(from))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return echo.reports.slice(from, from + count);
  }

  it("a 300 kB file (split by the sending core into pre- and post-message) is echoed back byte for byte, encrypted", async () => {
    const { account, chatId } = await joined("Fiona");
    const data = randomBytes(FILE_BYTES);
    const path = join(mkdtempSync(join(tmpdir(), "attachment-")), "big.bin");
    await writeFile(path, data);

    const before = echo.reports.length;
    const reply = dc.waitForIncomingMessage(account, (m) => m.text.startsWith("echo: big.bin"), 60_000);
    const started = performance.now();
    await dc.rpc.sendMsg(account, chatId, {
      text: "a big file",
      html: null,
      viewtype: "File",
      file: path,
      filename: "big.bin",
      location: null,
      overrideSenderName: null,
      quotedMessageId: null,
      quotedText: null,
    });
    const message = await reply;
    const elapsed = performance.now() - started;

    expect(message.text).toBe(`echo: big.bin (application/octet-stream, ${FILE_BYTES} bytes)`);
    expect(message.showPadlock).toBe(true);
    expect(message.fileBytes).toBe(FILE_BYTES);
    expect(message.file).toBeTruthy();
    const echoed = await readFile(message.file!);
    expect(echoed.byteLength).toBe(FILE_BYTES);
    expect(echoed.equals(data)).toBe(true);

    // The core really split it: one half was held, the other ran the bot once.
    const reports = echo.reports.slice(before);
    expect(reports.map((r) => r.outcome)).toEqual(["held", "ran"]);
    expect(reports[0]?.reason).toMatch(/^(pre|post)-message of /);
    expect(reports[1]?.sent).toBe(1);
    console.log(`[timing] 300 kB round trip (send → echo with file received): ${elapsed.toFixed(0)} ms; held half: ${reports[0]?.reason}`);
  });

  it("a message claiming to be from the user but signed by another key is dropped; the next genuine one is answered", async () => {
    const { account, chatId, addr, password } = await joined("Gina");
    const forger = await newIdentity(addr);
    const forged = await userMail({
      from: addr,
      to: echo.addr,
      recipientKey: echo.account.identity.publicKey,
      signer: forger,
      body: { kind: "text", text: "forged hello" },
    });

    const anyForgedEcho = dc
      .waitForIncomingMessage(account, (m) => m.text.includes("forged"), 5_000)
      .then(
        (m) => m,
        () => undefined,
      );
    const before = echo.reports.length;
    const started = performance.now();
    const submitter = createSmtpSubmitter({ host: "127.0.0.1", port: relay.submissionPort, secure: false, user: addr, password, allowSelfSigned: true });
    try {
      await submitter.submit({ from: addr, recipients: [echo.addr], raw: forged.text, messageId: forged.messageId });
    } finally {
      submitter.close();
    }
    const [report] = await nextReports(before, 1);
    const dropMs = performance.now() - started;
    expect(report?.outcome).toBe("dropped");
    expect(report?.reason).toMatch(/signature/);
    expect(report?.reason).toContain(forger.fingerprint);
    expect(echo.logs.some((l) => l.event === "mail.dropped" && String(l.reason).includes(forger.fingerprint))).toBe(true);
    expect(await anyForgedEcho).toBeUndefined();

    const genuine = dc.waitForIncomingMessage(account, (m) => m.text.startsWith("echo:"), 30_000);
    const genuineStarted = performance.now();
    await dc.rpc.miscSendTextMessage(account, chatId, "genuine hello");
    const message = await genuine;
    expect(message.text).toBe("echo: genuine hello");
    expect(message.showPadlock).toBe(true);
    console.log(`[timing] forged mail submitted → dropped: ${dropMs.toFixed(0)} ms; genuine round trip: ${(performance.now() - genuineStarted).toFixed(0)} ms`);
  });
});
