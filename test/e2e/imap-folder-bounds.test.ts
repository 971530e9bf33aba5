// What the host reads from an account's folders stays bounded whatever the account keeps there,
// against the test relay's real Dovecot: ChatbotInstall full of other mail still yields its deploys
// (the server searches for the deploy header; the host fetches only those), and a folder with more
// than FOLDER_LIST_MAX messages is listed as its newest FOLDER_LIST_MAX. And a mail the host puts
// into an INBOX (notices, a paused bot's mail) is there once however often it is retried.
import { ImapFlow } from "imapflow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FOLDER_LIST_MAX } from "../../core/limits.js";
import { DEPLOY_FOLDER, DEPLOY_HEADER } from "../../host/deploy/deploy-message.js";
import { appendToInbox, headMessageId, openDeployMailbox, openFolderMailbox } from "../../host/deploy/imap-mailbox.js";
import type { ImapSettings } from "../../host/deploy/imap-settings.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";

const PASSWORD = "folder-bounds-password";

/** A small mail; `extra` header lines go first. */
function mail(n: number, extra = ""): Buffer {
  return Buffer.from(`${extra}From: someone@example.org\r\nSubject: ${n}\r\nMessage-ID: <${n}.${Date.now()}@example.org>\r\n\r\nbody ${n}\r\n`);
}

describe.skipIf(!relayAvailable())("bounded folder reads on a real relay", () => {
  let relay: TestRelay;
  let settings: ImapSettings;

  beforeAll(async () => {
    relay = await startRelay();
    settings = { host: "127.0.0.1", port: relay.imapPort, security: "starttls", allowSelfSigned: true };
  }, 60_000);

  afterAll(async () => {
    await relay?.stop();
  });

  /** Log in as `user` and append `raws` to `folder` (created) in one session. */
  async function fill(user: string, folder: string, raws: Buffer[]): Promise<void> {
    const client = new ImapFlow({
      host: "127.0.0.1",
      port: relay.imapPort,
      secure: false,
      auth: { user, pass: PASSWORD },
      tls: { rejectUnauthorized: false },
      logger: false,
    });
    await client.connect();
    await client.mailboxCreate(folder).catch(() => undefined);
    for (const raw of raws) await client.append(folder, raw);
    await client.logout();
  }

  it("a ChatbotInstall full of other mail: the deploys among it are found, oldest first, at most the limit", { timeout: 120_000 }, async () => {
    const user = `crowded@${relay.domain}`;
    await relay.addUser(user, PASSWORD);
    const junk = (from: number, count: number) => Array.from({ length: count }, (_, i) => mail(from + i));
    const deploy = (n: number) => mail(n, `${DEPLOY_HEADER}: 1\r\n`);
    await fill(user, DEPLOY_FOLDER, [...junk(0, 600), deploy(600), ...junk(601, 600), deploy(1201), deploy(1202)]);
    const mailbox = await openDeployMailbox(settings, user, PASSWORD);
    try {
      const two = await mailbox.waiting(2);
      expect(two.map((m) => m.uid)).toEqual([601, 1202]);
      expect(two.every((m) => m.size > 0)).toBe(true);
      expect((await mailbox.waiting(5)).map((m) => m.uid)).toEqual([601, 1202, 1203]);
    } finally {
      await mailbox.close();
    }
  });

  it("a folder with more than FOLDER_LIST_MAX messages is listed as its newest FOLDER_LIST_MAX", { timeout: 120_000 }, async () => {
    const user = `full@${relay.domain}`;
    await relay.addUser(user, PASSWORD);
    const total = FOLDER_LIST_MAX + 5;
    await fill(
      user,
      "INBOX",
      Array.from({ length: total }, (_, i) => mail(i)),
    );
    const inbox = await openFolderMailbox(settings, user, PASSWORD, "INBOX", "X-Chatbot-Notice");
    try {
      const listed = await inbox.list();
      expect(listed).toHaveLength(FOLDER_LIST_MAX);
      expect(listed[0]!.uid).toBe(6);
      expect(listed.at(-1)!.uid).toBe(total);
    } finally {
      await inbox.close();
    }
  });

  it("appendToInbox a second time with the same Message-ID leaves one copy; another Message-ID, or none, is appended", { timeout: 60_000 }, async () => {
    const user = `notices@${relay.domain}`;
    await relay.addUser(user, PASSWORD);
    const notice = (id: string | undefined, n: number) =>
      Buffer.from(`From: <host@${relay.domain}>\r\nTo: <${user}>\r\n${id ? `Message-ID: ${id}\r\n` : ""}Subject: notice ${n}\r\n\r\nnotice ${n}\r\n`);
    await appendToInbox(settings, user, PASSWORD, notice("<n1@chat.test>", 1));
    await appendToInbox(settings, user, PASSWORD, notice("<n1@chat.test>", 1));
    await appendToInbox(settings, user, PASSWORD, notice("<n2@chat.test>", 2));
    await appendToInbox(settings, user, PASSWORD, notice(undefined, 3));
    await appendToInbox(settings, user, PASSWORD, notice(undefined, 3));
    const inbox = await openFolderMailbox(settings, user, PASSWORD, "INBOX", "Subject");
    try {
      expect((await inbox.list()).map((m) => m.marker)).toEqual(["notice 1", "notice 2", "notice 3", "notice 3"]);
    } finally {
      await inbox.close();
    }
  });
});

describe("headMessageId", () => {
  it("reads the Message-ID from the header block only", () => {
    expect(headMessageId(Buffer.from("Subject: x\r\nMessage-ID:  <a.b@c>  \r\n\r\nbody"))).toBe("<a.b@c>");
    expect(headMessageId(Buffer.from("Subject: x\r\n\r\nMessage-ID: <in@body>\r\n"))).toBeUndefined();
    expect(headMessageId(Buffer.from("message-id: <lower@case>\n\n"))).toBe("<lower@case>");
    expect(headMessageId(Buffer.from("Message-ID: not-bracketed\r\n\r\n"))).toBeUndefined();
  });
});
