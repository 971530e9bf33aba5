// Outbound composition of the add-member action (bot.addToGroup, PROTOCOL §3): one member-added
// message to every member, the new one included, that each of them can decrypt and that names the
// new member with its fingerprint and gossips every member's key; then the group store lists the
// new member. Skipped, with a code and nothing mailed or stored, when the bot cannot do it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openBotAccount, type BotAccount } from "../../../host/wire/bot-account.js";
import { actionMessageId, mailsForActions, type ActionMail } from "../../../host/wire/outbound.js";
import { checkEncryptedMime } from "../../../host/wire/filtermail-check.js";
import { parseOuter } from "../../../host/wire/mime/parse-outer.js";
import { parseInner, type DeltaInner } from "../../../host/wire/mime/parse-inner.js";
import { decryptAndVerify } from "../../../host/wire/pgp/decrypt.js";
import { parseAutocryptHeader, publicKeyFromKeydata, fingerprintOf } from "../../../host/wire/pgp/autocrypt.js";
import { generateBotKeyArmored, identityFromArmored, type BotIdentity } from "../../../host/wire/pgp/identity.js";

const LIMITS = { maxBytes: 10_000_000 };
const ALICE = "alice@example.org";
const BOB = "bob@example.org";
const ERIN = "erin@example.org";
const GROUP_ID = "AbCdEfGhIjKlMnOp";
const CHAT = `group:${GROUP_ID}`;
const EVENT = "<event1@example.org>";

let alice: BotIdentity;
let bob: BotIdentity;
let erin: BotIdentity;
beforeAll(async () => {
  const identity = async (addr: string) => identityFromArmored(await generateBotKeyArmored(addr), addr);
  [alice, bob, erin] = await Promise.all([identity(ALICE), identity(BOB), identity(ERIN)]);
});

/** A bot in group "Club" with Alice and Bob, that knows Alice's, Bob's and (unless `erinKey` is false) Erin's key. */
async function botInGroup(options: { erinKey?: boolean } = {}): Promise<BotAccount> {
  const account = await openBotAccount(mkdtempSync(join(tmpdir(), "add-member-")), "bot@example.org", "Test Bot", { now: () => 1_700_000_000_000 });
  for (const who of options.erinKey === false ? [alice, bob] : [alice, bob, erin]) await account.peers.remember(who.addr, who.fingerprint, who.keydataBase64);
  await account.groups.update(GROUP_ID, (g) => ({ ...g, name: "Club", members: [ALICE, BOB] }));
  return account;
}

/** Decrypt `mail` as `reader` and check it is signed by the bot and passes the relay's filter. */
async function openAs(reader: BotIdentity, account: BotAccount, mail: ActionMail): Promise<DeltaInner> {
  expect(checkEncryptedMime(mail.raw)).toEqual({ ok: true });
  const outer = parseOuter(new TextEncoder().encode(mail.raw), LIMITS);
  const decrypted = await decryptAndVerify(outer.encrypted!.armored, reader, [account.identity.publicKey], LIMITS);
  expect(decrypted.signerFingerprint).toBe(account.identity.fingerprint);
  return parseInner(decrypted.inner, LIMITS);
}

/** The fingerprints gossiped in a message, by address. */
async function gossipOf(inner: DeltaInner): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const value of inner.gossip) {
    const header = parseAutocryptHeader(value)!;
    out[header.addr] = fingerprintOf(await publicKeyFromKeydata(header.keydata));
  }
  return out;
}

describe("outbound: add-member", () => {
  it("one member-added message to all members including the new one; each decrypts it and sees the headers and everyone's gossip", async () => {
    const account = await botInGroup();
    const { mails, skipped } = await mailsForActions(account, [{ type: "add-member", chatId: CHAT, addr: ERIN }], EVENT);
    expect(skipped).toEqual([]);
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail).toMatchObject({ messageId: actionMessageId(account, EVENT, 0), chatId: CHAT, fresh: true, from: "bot@example.org" });
    expect([...mail.recipients].sort()).toEqual([ALICE, BOB, ERIN]);

    for (const reader of [erin, alice]) {
      const inner = await openAs(reader, account, mail);
      expect(inner.group).toMatchObject({ id: GROUP_ID, name: "Club", memberAdded: ERIN });
      expect(inner.headers.get("chat-group-member-added-fpr")).toEqual([erin.fingerprint]);
      expect(inner.chatVersion).toBe("1.0");
      expect(inner.autoSubmitted).toBe("auto-generated");
      expect(inner.messageId).toBe(mail.messageId);
      expect(inner.to.map((t) => t.addr).sort()).toEqual([ALICE, BOB, ERIN]);
      expect(await gossipOf(inner)).toEqual({ [ALICE]: alice.fingerprint, [BOB]: bob.fingerprint, [ERIN]: erin.fingerprint });
      // Chat-Group-Member-Fpr lists each To address's fingerprint in To's order (core drops the mapping otherwise).
      const byAddr: Record<string, string> = { [ALICE]: alice.fingerprint, [BOB]: bob.fingerprint, [ERIN]: erin.fingerprint };
      expect(inner.headers.get("chat-group-member-fpr")).toEqual([inner.to.map((t) => byAddr[t.addr]).join(" ")]);
    }
    expect((await account.groups.get(GROUP_ID))?.members).toEqual([ALICE, BOB, ERIN]);
  });

  it("the next message into the group goes to the new member too", async () => {
    const account = await botInGroup();
    const { mails } = await mailsForActions(
      account,
      [
        { type: "add-member", chatId: CHAT, addr: ERIN },
        { type: "send", chatId: CHAT, text: "welcome" },
      ],
      EVENT,
    );
    expect(mails).toHaveLength(2);
    expect([...mails[1]!.recipients].sort()).toEqual([ALICE, BOB, ERIN]);
    expect((await openAs(erin, account, mails[1]!)).text).toBe("welcome");
  });

  it("an unknown key is skipped with E_NO_KEY: nothing mailed, the group unchanged", async () => {
    const account = await botInGroup({ erinKey: false });
    const { mails, skipped } = await mailsForActions(account, [{ type: "add-member", chatId: CHAT, addr: ERIN }], EVENT);
    expect(mails).toEqual([]);
    expect(skipped).toMatchObject([{ index: 0, code: "E_NO_KEY" }]);
    expect((await account.groups.get(GROUP_ID))?.members).toEqual([ALICE, BOB]);
  });

  it("a group the bot is not in (never, or left) is skipped with E_NOT_IN_CHAT", async () => {
    const account = await botInGroup();
    const unknown = await mailsForActions(account, [{ type: "add-member", chatId: "group:ZzZzZzZzZzZzZz", addr: ERIN }], EVENT);
    expect(unknown).toMatchObject({ mails: [], skipped: [{ code: "E_NOT_IN_CHAT" }] });
    await account.groups.update(GROUP_ID, (g) => ({ ...g, left: true }));
    const left = await mailsForActions(account, [{ type: "add-member", chatId: CHAT, addr: ERIN }], EVENT);
    expect(left).toMatchObject({ mails: [], skipped: [{ code: "E_NOT_IN_CHAT" }] });
    expect((await account.groups.get(GROUP_ID))?.members).toEqual([ALICE, BOB]);
  });

  it("someone already in the group, or the bot itself, is skipped with E_ALREADY_MEMBER (no second member-added message)", async () => {
    const account = await botInGroup();
    const { mails, skipped } = await mailsForActions(
      account,
      [
        { type: "add-member", chatId: CHAT, addr: BOB },
        { type: "add-member", chatId: CHAT, addr: "bot@example.org" },
        { type: "add-member", chatId: CHAT, addr: ERIN },
        { type: "add-member", chatId: CHAT, addr: ERIN },
      ],
      EVENT,
    );
    expect(skipped).toMatchObject([
      { index: 0, code: "E_ALREADY_MEMBER" },
      { index: 1, code: "E_ALREADY_MEMBER" },
      { index: 3, code: "E_ALREADY_MEMBER" },
    ]);
    expect(mails.map((m) => m.index)).toEqual([2]);
  });

  it("actions the policy held back keep the others' Message-IDs: the run's indices are passed along", async () => {
    const account = await botInGroup();
    const { mails } = await mailsForActions(account, [{ type: "add-member", chatId: CHAT, addr: ERIN }], EVENT, [3]);
    expect(mails[0]).toMatchObject({ index: 3, messageId: actionMessageId(account, EVENT, 3) });
  });
});
