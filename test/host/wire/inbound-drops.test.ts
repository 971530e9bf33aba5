// Mail the bot must never run on (PROTOCOL §2 "Dropped"): each is dropped with its reason, and none
// of them marks its Message-ID as seen, so the genuine message with that id still runs.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { receiveMail, type Inbound } from "../../../host/wire/inbound.js";
import { openBotAccount, type BotAccount } from "../../../host/wire/bot-account.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { crlf } from "./mime/fixtures.js";
import { newIdentity, userMail, type UserMail } from "../../support/user-mail.js";

const LIMITS = { maxBytes: 1024 * 1024 };
const BOT = "echobot01@chat.test";
const ALICE = "alice@chat.test";

let alice: BotIdentity;
let mallory: BotIdentity;

beforeAll(async () => {
  [alice, mallory] = await Promise.all([newIdentity(ALICE), newIdentity(ALICE)]);
});

async function bot(options: { aliceVerified?: boolean } = {}): Promise<BotAccount> {
  const account = await openBotAccount(mkdtempSync(join(tmpdir(), "inbound-drops-")), BOT, "Echo Bot");
  if (options.aliceVerified) await account.peers.remember(ALICE, alice.fingerprint, alice.keydataBase64, { verified: true });
  return account;
}

function mail(account: BotAccount, overrides: Partial<UserMail>) {
  return userMail({ from: ALICE, to: BOT, recipientKey: account.identity.publicKey, signer: alice, body: { kind: "text", text: "hello" }, ...overrides });
}

function reason(result: Inbound): string {
  expect(result.kind).toBe("drop");
  return result.kind === "drop" ? result.reason : "";
}

/** The genuine message with `messageId` still runs after the drop (the drop did not mark it seen). */
async function genuineStillRuns(account: BotAccount, messageId: string): Promise<void> {
  const genuine = await mail(account, { messageId });
  const result = await receiveMail(account, genuine.raw, LIMITS);
  expect(result.kind).toBe("event");
}

describe("receiveMail drops", () => {
  it("a genuine message (signed by the key its Autocrypt header announces) runs the bot", async () => {
    const account = await bot();
    const m = await mail(account, {});
    const result = await receiveMail(account, m.raw, LIMITS);
    expect(result).toMatchObject({
      kind: "event",
      sender: ALICE,
      event: { kind: "message", message: { id: m.messageId, text: "hello", from: { addr: ALICE, name: "Alice" } } },
    });
    expect((await account.peers.get(ALICE))?.fingerprint).toBe(alice.fingerprint);
  });

  it("encrypted but unsigned", async () => {
    const account = await bot();
    const m = await mail(account, { signer: undefined, autocrypt: alice });
    expect(reason(await receiveMail(account, m.raw, LIMITS))).toMatch(/no valid signature/);
    await genuineStillRuns(account, m.messageId);
  });

  it("signed by a key that is not the sender's (the Autocrypt header names Alice's key, another key signed)", async () => {
    const account = await bot();
    const m = await mail(account, { signer: mallory, autocrypt: alice });
    expect(reason(await receiveMail(account, m.raw, LIMITS))).toMatch(/no valid signature/);
    await genuineStillRuns(account, m.messageId);
  });

  it("signed by another key that announces itself, while Alice's key is verified (a forgery)", async () => {
    const account = await bot({ aliceVerified: true });
    const m = await mail(account, { signer: mallory });
    expect(reason(await receiveMail(account, m.raw, LIMITS))).toBe(`signature by ${mallory.fingerprint}, not by ${ALICE}'s verified key ${alice.fingerprint}`);
    expect(await account.peers.get(ALICE)).toMatchObject({ fingerprint: alice.fingerprint, verified: true });
    await genuineStillRuns(account, m.messageId);
  });

  it("inner From differs from outer From", async () => {
    const account = await bot();
    const m = await mail(account, { outerFrom: "mallory@chat.test" });
    expect(reason(await receiveMail(account, m.raw, LIMITS))).toBe("inner and outer From differ");
    await genuineStillRuns(account, m.messageId);
  });

  it("a duplicate Message-ID", async () => {
    const account = await bot();
    const m = await mail(account, {});
    expect((await receiveMail(account, m.raw, LIMITS)).kind).toBe("event");
    expect(reason(await receiveMail(account, m.raw, LIMITS))).toBe(`duplicate Message-ID ${m.messageId}`);
    const again = await mail(account, { messageId: m.messageId, body: { kind: "text", text: "replayed with new text" } });
    expect(reason(await receiveMail(account, again.raw, LIMITS))).toBe(`duplicate Message-ID ${m.messageId}`);
  });

  it("attack: a Message-ID someone else used first does not block the real sender's mail", async () => {
    const account = await bot();
    const bob = await newIdentity("bob@chat.test");
    const stolenId = "<announced-post-id@chat.test>";
    const fromBob = await userMail({
      from: "bob@chat.test",
      to: BOT,
      recipientKey: account.identity.publicKey,
      signer: bob,
      body: { kind: "text", text: "first with alice's id" },
      messageId: stolenId,
    });
    expect((await receiveMail(account, fromBob.raw, LIMITS)).kind).toBe("event");
    const fromAlice = await mail(account, { messageId: stolenId });
    expect((await receiveMail(account, fromAlice.raw, LIMITS)).kind).toBe("event");
  });

  it("mail from the bot itself", async () => {
    const account = await bot();
    const m = await userMail({ from: BOT, to: BOT, recipientKey: account.identity.publicKey, signer: account.identity, body: { kind: "text", text: "loop" } });
    expect(reason(await receiveMail(account, m.raw, LIMITS))).toBe("sent by the bot itself");
  });

  it("unencrypted and not a SecureJoin request", async () => {
    const account = await bot();
    const raw = crlf(
      `From: ${ALICE}`,
      `To: ${BOT}`,
      "Subject: hi",
      "Message-ID: <plain1@chat.test>",
      "Chat-Version: 1.0",
      "Content-Type: text/plain",
      "",
      "hello in the clear",
      "",
    );
    expect(reason(await receiveMail(account, new Uint8Array(raw), LIMITS))).toBe("unencrypted, and not a SecureJoin request");
  });

  it("encrypted to another key than the bot's", async () => {
    const account = await bot();
    const m = await mail(account, { recipientKey: mallory.publicKey });
    expect(reason(await receiveMail(account, m.raw, LIMITS))).toMatch(/^cannot decrypt/);
  });
});
