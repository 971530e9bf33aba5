// `Chat-Verified: 1` (host/wire/verified-chat.ts, issue 10): a 1.x Delta Chat core shows the bot as
// a verified contact only after a message from it that carries this header. The bot claims it
// exactly where it is true: 1:1 mail to a peer SecureJoin verified. Never to a peer it only knows
// from an Autocrypt header, never in a group (2.x reads the header as "the sender verified every
// gossiped key"; a bot cannot vouch for members it did not verify).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openBotAccount, type BotAccount } from "../../../host/wire/bot-account.js";
import { mailsForActions, type ActionMail } from "../../../host/wire/outbound.js";
import { parseOuter } from "../../../host/wire/mime/parse-outer.js";
import { parseInner, type DeltaInner } from "../../../host/wire/mime/parse-inner.js";
import { decryptAndVerify } from "../../../host/wire/pgp/decrypt.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { newIdentity } from "../../support/user-mail.js";
import { newGroupId } from "../../../host/wire/group-store.js";

const LIMITS = { maxBytes: 10_000_000 };
const ALICE = "alice@example.org";
const BOB = "bob@example.org";
const EVENT = "<event1@example.org>";

let alice: BotIdentity;
let bob: BotIdentity;
beforeAll(async () => {
  [alice, bob] = await Promise.all([newIdentity(ALICE), newIdentity(BOB)]);
});

async function botAccount(): Promise<BotAccount> {
  return openBotAccount(mkdtempSync(join(tmpdir(), "outbound-verified-")), "bot@example.org", "Test Bot", { now: () => 1_700_000_000_000 });
}

async function openAs(reader: BotIdentity, account: BotAccount, mail: ActionMail): Promise<DeltaInner> {
  const outer = parseOuter(new TextEncoder().encode(mail.raw), LIMITS);
  const decrypted = await decryptAndVerify(outer.encrypted!.armored, reader, [account.identity.publicKey], LIMITS);
  return parseInner(decrypted.inner, LIMITS);
}

const chatVerified = (inner: DeltaInner) => inner.headers.get("chat-verified");

describe("Chat-Verified on the bot's mail", () => {
  it("a reply to a peer SecureJoin verified carries Chat-Verified: 1", async () => {
    const account = await botAccount();
    await account.peers.remember(ALICE, alice.fingerprint, alice.keydataBase64, { verified: true });
    const { mails } = await mailsForActions(account, [{ type: "reply", chatId: ALICE, inReplyTo: "<m1@example.org>", text: "hi" }], EVENT);
    expect(chatVerified(await openAs(alice, account, mails[0]!))).toEqual(["1"]);
  });

  it("a reply to a peer known only from its Autocrypt header carries no Chat-Verified", async () => {
    const account = await botAccount();
    await account.peers.remember(ALICE, alice.fingerprint, alice.keydataBase64);
    const { mails } = await mailsForActions(account, [{ type: "reply", chatId: ALICE, inReplyTo: "<m1@example.org>", text: "hi" }], EVENT);
    expect(chatVerified(await openAs(alice, account, mails[0]!))).toBeUndefined();
  });

  it("group mail carries no Chat-Verified, even when the bot verified every member", async () => {
    const account = await botAccount();
    await account.peers.remember(ALICE, alice.fingerprint, alice.keydataBase64, { verified: true });
    await account.peers.remember(BOB, bob.fingerprint, bob.keydataBase64, { verified: true });
    const id = newGroupId();
    await account.groups.update(id, (g) => ({ ...g, name: "Club", members: [ALICE, BOB] }));
    const { mails } = await mailsForActions(account, [{ type: "send", chatId: `group:${id}`, text: "hello group" }], EVENT);
    const inner = await openAs(bob, account, mails[0]!);
    expect(inner.group?.id).toBe(id);
    expect(chatVerified(inner)).toBeUndefined();
  });
});
