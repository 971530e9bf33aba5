// The outer (unencrypted) headers of the bot's mail, which older Delta Chat cores read before they
// open the message (issue 10): the bot's Autocrypt key (core before ~1.140 verifies signatures
// only with a key from the outer header) and, on mail to one person, that person in To (core up to
// 1.151 accepts gossip only for addresses in the outer To). Mail to several keeps its recipients
// hidden, like core 2.x.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openBotAccount, type BotAccount } from "../../../host/wire/bot-account.js";
import { mailsForActions } from "../../../host/wire/outbound.js";
import { composeBotMessage } from "../../../host/wire/bot-message.js";
import { parseOuter } from "../../../host/wire/mime/parse-outer.js";
import { fingerprintOf, parseAutocryptHeader, publicKeyFromKeydata } from "../../../host/wire/pgp/autocrypt.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { newIdentity } from "../../support/user-mail.js";
import { newGroupId } from "../../../host/wire/group-store.js";
import { checkEncryptedMime } from "../../../host/wire/filtermail-check.js";

const LIMITS = { maxBytes: 10_000_000 };
const ALICE = "alice@example.org";
const BOB = "bob@example.org";

let alice: BotIdentity;
let bob: BotIdentity;
beforeAll(async () => {
  [alice, bob] = await Promise.all([newIdentity(ALICE), newIdentity(BOB)]);
});

async function botAccount(): Promise<BotAccount> {
  const account = await openBotAccount(mkdtempSync(join(tmpdir(), "outer-headers-")), "bot@example.org", "Test Bot", { now: () => 1_700_000_000_000 });
  await account.peers.remember(ALICE, alice.fingerprint, alice.keydataBase64);
  await account.peers.remember(BOB, bob.fingerprint, bob.keydataBase64);
  return account;
}

function outerOf(raw: string) {
  expect(checkEncryptedMime(raw)).toEqual({ ok: true });
  return parseOuter(new TextEncoder().encode(raw), LIMITS).headers;
}

describe("outer headers of the bot's mail", () => {
  it("1:1 mail names its one recipient in the outer To and carries the bot's Autocrypt key outside", async () => {
    const account = await botAccount();
    const { mails } = await mailsForActions(account, [{ type: "send", chatId: ALICE, text: "hi" }], "<e1@example.org>");
    const outer = outerOf(mails[0]!.raw);
    expect(outer.get("to")).toEqual([`<${ALICE}>`]);
    const header = parseAutocryptHeader(outer.get("autocrypt")![0]!);
    expect(header?.addr).toBe("bot@example.org");
    expect(fingerprintOf(await publicKeyFromKeydata(header!.keydata))).toBe(account.identity.fingerprint);
  });

  it("group mail keeps its recipients hidden outside (no server learns the other members), with the key outside too", async () => {
    const account = await botAccount();
    const id = newGroupId();
    await account.groups.update(id, (g) => ({ ...g, name: "Club", members: [ALICE, BOB] }));
    const { mails } = await mailsForActions(account, [{ type: "send", chatId: `group:${id}`, text: "hello group" }], "<e2@example.org>");
    expect(mails[0]!.recipients.sort()).toEqual([ALICE, BOB]);
    const outer = outerOf(mails[0]!.raw);
    expect(outer.get("to")).toEqual(['"hidden-recipients": ;']);
    expect(outer.get("autocrypt")).toHaveLength(1);
  });

  it("a password-encrypted SecureJoin reply (v3 vc-pubkey) carries no key outside: only the QR's holder may learn it", async () => {
    const account = await botAccount();
    const mail = await composeBotMessage(
      account,
      {
        to: [{ addr: ALICE }],
        recipients: [ALICE],
        subject: "Secure-Join",
        body: { kind: "text", text: "Secure-Join" },
        headers: [["Secure-Join", "vc-pubkey"]],
      },
      { password: "pw" },
    );
    expect(outerOf(mail.raw).get("autocrypt")).toBeUndefined();
  });
});
