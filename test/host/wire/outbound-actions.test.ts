// Outbound composition of the webxdc-status, react, delete and resend actions: each mail passes
// the relay's encryption filter and, decrypted with the recipient's key, says what Delta Chat
// expects (PROTOCOL §5–6). Delete and resend only work for mails the bot itself sent.
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Action } from "../../../std/contract.js";
import { openBotAccount, type BotAccount } from "../../../host/wire/bot-account.js";
import { actionMessageId, mailsForActions, type ActionMail } from "../../../host/wire/outbound.js";
import { checkEncryptedMime } from "../../../host/wire/filtermail-check.js";
import { parseOuter } from "../../../host/wire/mime/parse-outer.js";
import { parseInner, type DeltaInner } from "../../../host/wire/mime/parse-inner.js";
import { decryptAndVerify } from "../../../host/wire/pgp/decrypt.js";
import { generateBotKeyArmored, identityFromArmored, type BotIdentity } from "../../../host/wire/pgp/identity.js";
import { SentStore } from "../../../host/wire/sent-store.js";

const LIMITS = { maxBytes: 10_000_000 };
const ALICE = "alice@example.org";
const EVENT = "<event1@example.org>";

let alice: BotIdentity;
beforeAll(async () => {
  alice = await identityFromArmored(await generateBotKeyArmored(ALICE), ALICE);
});

/** A bot account that knows Alice's key, in a fresh directory. */
async function botAccount(now = () => 1_700_000_000_000): Promise<BotAccount> {
  const account = await openBotAccount(mkdtempSync(join(tmpdir(), "outbound-")), "bot@example.org", "Test Bot", { now });
  await account.peers.remember(ALICE, alice.fingerprint, alice.keydataBase64);
  return account;
}

/** Decrypt a mail with Alice's key and check it is signed by the bot. */
async function openAsAlice(account: BotAccount, mail: ActionMail): Promise<DeltaInner> {
  expect(checkEncryptedMime(mail.raw)).toEqual({ ok: true });
  const outer = parseOuter(new TextEncoder().encode(mail.raw), LIMITS);
  const decrypted = await decryptAndVerify(outer.encrypted!.armored, alice, [account.identity.publicKey], LIMITS);
  expect(decrypted.signerFingerprint).toBe(account.identity.fingerprint);
  return parseInner(decrypted.inner, LIMITS);
}

/** Send `actions` and record every fresh mail as handle-mail does after SMTP accepted it. */
async function sendAndRecord(account: BotAccount, actions: Action[], eventKey = EVENT) {
  const result = await mailsForActions(account, actions, eventKey);
  for (const mail of result.mails) if (mail.fresh) await account.sent.record(mail);
  return result;
}

describe("outbound: webxdc status updates and reactions", () => {
  it("a webxdc-status action is a status-update message whose In-Reply-To is the app instance", async () => {
    const account = await botAccount();
    const update = { payload: { score: 3 }, info: "Alice scored", summary: "3 points" };
    const { mails, skipped } = await mailsForActions(account, [{ type: "webxdc-status", chatId: ALICE, instanceId: "<app@example.org>", update }], EVENT);
    expect(skipped).toEqual([]);
    expect(mails[0]).toMatchObject({ recipients: [ALICE], messageId: actionMessageId(account, EVENT, 0), chatId: ALICE, fresh: true });
    const inner = await openAsAlice(account, mails[0]!);
    expect(inner.inReplyTo).toBe("<app@example.org>");
    expect(inner.webxdcStatus).toEqual({ updates: [update] });
    expect(inner.messageId).toBe(mails[0]!.messageId);
    expect(inner.autoSubmitted).toBe("auto-generated");
  });

  it("a react action is a reaction to the named message; an empty emoji removes it", async () => {
    const account = await botAccount();
    const { mails } = await mailsForActions(
      account,
      [
        { type: "react", chatId: ALICE, messageId: "<m1@example.org>", emoji: "👍" },
        { type: "react", chatId: ALICE, messageId: "<m1@example.org>", emoji: "" },
      ],
      EVENT,
    );
    const [added, removed] = await Promise.all(mails.map((m) => openAsAlice(account, m)));
    expect(added).toMatchObject({ inReplyTo: "<m1@example.org>", reaction: { emoji: "👍" } });
    expect(removed).toMatchObject({ inReplyTo: "<m1@example.org>", reaction: { emoji: "" } });
  });

  it("a reply with a .xdc file carries it as application/webxdc+zip", async () => {
    const account = await botAccount();
    const action: Action = {
      type: "reply",
      chatId: ALICE,
      inReplyTo: "<m1@example.org>",
      text: "app",
      file: { name: "a.xdc", type: "application/webxdc+zip", size: 2, dataBase64: "UEs=" },
    };
    const inner = await openAsAlice(account, (await mailsForActions(account, [action], EVENT)).mails[0]!);
    expect(inner.attachments).toMatchObject([{ name: "a.xdc", type: "application/webxdc+zip" }]);
  });
});

describe("outbound: delete and resend of the bot's own messages", () => {
  it("delete of a message the bot sent is an encrypted Chat-Delete to that chat", async () => {
    const account = await botAccount();
    const sent = await sendAndRecord(account, [{ type: "send", chatId: ALICE, text: "oops" }]);
    const id = sent.mails[0]!.messageId;
    const { mails, skipped } = await mailsForActions(account, [{ type: "delete", chatId: ALICE, messageId: id }], "<event2@example.org>");
    expect(skipped).toEqual([]);
    const inner = await openAsAlice(account, mails[0]!);
    expect(inner.deletes).toEqual([id]);
    expect(inner.messageId).not.toBe(id);
  });

  it("delete of a message the bot never sent is skipped with E_NOT_SENT, and nothing is mailed", async () => {
    const account = await botAccount();
    const { mails, skipped } = await mailsForActions(account, [{ type: "delete", chatId: ALICE, messageId: "<alices-own@example.org>" }], EVENT);
    expect(mails).toEqual([]);
    expect(skipped).toEqual([{ index: 0, code: "E_NOT_SENT", reason: expect.stringContaining("<alices-own@example.org>") }]);
  });

  it("delete naming another chat than the message went to is skipped with E_OTHER_CHAT", async () => {
    const account = await botAccount();
    const id = (await sendAndRecord(account, [{ type: "send", chatId: ALICE, text: "hi" }])).mails[0]!.messageId;
    const { mails, skipped } = await mailsForActions(account, [{ type: "delete", chatId: "bob@example.org", messageId: id }], "<event2@example.org>");
    expect(mails).toEqual([]);
    expect(skipped).toMatchObject([{ index: 0, code: "E_OTHER_CHAT" }]);
  });

  it("a message sent earlier in the same event may be deleted in it", async () => {
    const account = await botAccount();
    const id = actionMessageId(account, EVENT, 0);
    const { mails, skipped } = await mailsForActions(
      account,
      [
        { type: "send", chatId: ALICE, text: "brief" },
        { type: "delete", chatId: ALICE, messageId: id },
      ],
      EVENT,
    );
    expect(skipped).toEqual([]);
    expect((await openAsAlice(account, mails[1]!)).deletes).toEqual([id]);
  });

  it("resend submits the stored mail again: the same Message-ID, the same bytes, the same recipients", async () => {
    const account = await botAccount();
    const original = (await sendAndRecord(account, [{ type: "reply", chatId: ALICE, inReplyTo: "<m1@example.org>", text: "important" }])).mails[0]!;
    const { mails, skipped } = await mailsForActions(account, [{ type: "resend", chatId: ALICE, messageId: original.messageId }], "<event2@example.org>");
    expect(skipped).toEqual([]);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.messageId).toBe(original.messageId);
    expect(mails[0]!.raw).toBe(original.raw);
    expect(mails[0]!.recipients).toEqual(original.recipients);
    expect(mails[0]!.fresh).toBe(false);
  });

  it("resend of an unknown id is skipped with E_NOT_SENT", async () => {
    const account = await botAccount();
    expect((await mailsForActions(account, [{ type: "resend", chatId: ALICE, messageId: "<nope@example.org>" }], EVENT)).skipped).toMatchObject([
      { code: "E_NOT_SENT" },
    ]);
  });
});

describe("sent store", () => {
  const mail = (n: number, raw = `raw ${n}`) => ({ messageId: `<m${n}@x>`, chatId: ALICE, from: "bot@example.org", recipients: [ALICE], raw });

  it("keeps mails in files only the host user can read, and forgets one it never saw", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sent-"));
    const store = new SentStore(dir, { now: () => 5 });
    await store.record(mail(1));
    expect(await store.get("<m1@x>")).toEqual({
      entry: { messageId: "<m1@x>", chatId: ALICE, from: "bot@example.org", recipients: [ALICE], sentAt: 5, bytes: 5 },
      raw: "raw 1",
    });
    expect(await store.get("<m2@x>")).toBeUndefined();
    expect(statSync(join(dir, "sent.json")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "sent")).mode & 0o777).toBe(0o700);
  });

  it("at the message cap every mail is kept; one over forgets the oldest", async () => {
    const store = new SentStore(mkdtempSync(join(tmpdir(), "sent-")), { now: () => 5 }, { maxMessages: 3, maxAgeMs: 1000, maxBytes: 1000 });
    for (const n of [1, 2, 3]) await store.record(mail(n));
    expect(await store.get("<m1@x>")).toBeDefined();
    await store.record(mail(4));
    expect(await store.get("<m1@x>")).toBeUndefined();
    expect(await store.get("<m4@x>")).toBeDefined();
  });

  it("a mail exactly at the age bound is kept; 1 ms older it is forgotten", async () => {
    let now = 0;
    const store = new SentStore(mkdtempSync(join(tmpdir(), "sent-")), { now: () => now }, { maxMessages: 10, maxAgeMs: 1000, maxBytes: 1000 });
    await store.record(mail(1));
    now = 1000;
    expect(await store.get("<m1@x>")).toBeDefined();
    now = 1001;
    expect(await store.get("<m1@x>")).toBeUndefined();
  });

  it("the byte bound forgets the oldest mails first", async () => {
    const store = new SentStore(mkdtempSync(join(tmpdir(), "sent-")), { now: () => 5 }, { maxMessages: 10, maxAgeMs: 1000, maxBytes: 10 });
    await store.record(mail(1, "12345"));
    await store.record(mail(2, "12345"));
    expect(await store.get("<m1@x>")).toBeDefined();
    await store.record(mail(3, "1"));
    expect(await store.get("<m1@x>")).toBeUndefined();
    expect(await store.get("<m2@x>")).toBeDefined();
  });
});
