// Consent in groups (issue 4 item 6): someone who sent /stop gets no more mail from the bot, group
// mail included. The group stays the same group for the others: the headers still name every
// member, only the envelope and the encryption leave the stopped member out.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openBotAccount, type BotAccount } from "../../../host/wire/bot-account.js";
import { mailsForActions } from "../../../host/wire/outbound.js";
import { parseOuter } from "../../../host/wire/mime/parse-outer.js";
import { parseInner } from "../../../host/wire/mime/parse-inner.js";
import { decryptAndVerify } from "../../../host/wire/pgp/decrypt.js";
import { generateBotKeyArmored, identityFromArmored, type BotIdentity } from "../../../host/wire/pgp/identity.js";

const LIMITS = { maxBytes: 10_000_000 };
const ALICE = "alice@example.org";
const BOB = "bob@example.org";
const GROUP_ID = "AbCdEfGhIjKlMnOp";
const CHAT = `group:${GROUP_ID}`;
const EVENT = "<event1@example.org>";

let alice: BotIdentity;
let bob: BotIdentity;
beforeAll(async () => {
  const identity = async (addr: string) => identityFromArmored(await generateBotKeyArmored(addr), addr);
  [alice, bob] = await Promise.all([identity(ALICE), identity(BOB)]);
});

async function botInGroup(): Promise<BotAccount> {
  const account = await openBotAccount(mkdtempSync(join(tmpdir(), "stopped-")), "bot@example.org", "Test Bot", { now: () => 1_700_000_000_000 });
  for (const who of [alice, bob]) await account.peers.remember(who.addr, who.fingerprint, who.keydataBase64);
  await account.groups.update(GROUP_ID, (g) => ({ ...g, name: "Club", members: [ALICE, BOB] }));
  return account;
}

const send = { type: "send" as const, chatId: CHAT, text: "hello club" };

describe("outbound: members who sent /stop", () => {
  it("a group mail leaves out a member who sent /stop: not in the envelope, and not able to decrypt it", async () => {
    const account = await botInGroup();
    const { mails, skipped } = await mailsForActions(account, [send], EVENT, undefined, async (addr) => addr === BOB);
    expect(skipped).toEqual([]);
    expect(mails[0]!.recipients).toEqual([ALICE]);
    const outer = parseOuter(new TextEncoder().encode(mails[0]!.raw), LIMITS);
    const asAlice = await decryptAndVerify(outer.encrypted!.armored, alice, [account.identity.publicKey], LIMITS);
    await expect(decryptAndVerify(outer.encrypted!.armored, bob, [account.identity.publicKey], LIMITS)).rejects.toThrow();
    // The group's member list in the (protected) headers is unchanged, so Alice's client keeps Bob in the group.
    expect((await parseInner(asAlice.inner, LIMITS)).to.map((t) => t.addr).sort()).toEqual([ALICE, BOB]);
  });

  it("with nobody stopped, every member gets the group mail", async () => {
    const account = await botInGroup();
    const { mails } = await mailsForActions(account, [send], EVENT);
    expect([...mails[0]!.recipients].sort()).toEqual([ALICE, BOB]);
  });

  it("when every member sent /stop, the action is skipped with E_STOPPED and nothing is mailed", async () => {
    const account = await botInGroup();
    const { mails, skipped } = await mailsForActions(account, [send], EVENT, undefined, async () => true);
    expect(mails).toEqual([]);
    expect(skipped).toMatchObject([{ index: 0, code: "E_STOPPED" }]);
  });
});
