// Autocrypt-Gossip from a hostile member (issue 15's hostile-sender rule): a signed mail may carry
// as many gossip headers as fit in its inner header block. The bot takes at most
// GOSSIP_KEYS_PER_MAIL_MAX of them, only for addresses it has no key of their own for, and never
// lets one member's gossip replace the key another announced itself.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { GOSSIP_KEYS_PER_MAIL_MAX } from "../../../core/limits.js";
import { openBotAccount, type BotAccount } from "../../../host/wire/bot-account.js";
import { receiveMail } from "../../../host/wire/inbound.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { newIdentity, userMail } from "../../support/user-mail.js";

const LIMITS = { maxBytes: 8 * 1024 * 1024 };
const BOT = "echobot01@chat.test";
const ALICE = "alice@chat.test";
const BOB = "bob@chat.test";

let alice: BotIdentity;
let bob: BotIdentity;
let mallory: BotIdentity;

beforeAll(async () => {
  [alice, bob, mallory] = await Promise.all([newIdentity(ALICE), newIdentity(BOB), newIdentity("mallory@chat.test")]);
});

async function bot(): Promise<BotAccount> {
  return openBotAccount(mkdtempSync(join(tmpdir(), "inbound-gossip-")), BOT, "Echo Bot");
}

const gossipHeader = (addr: string, key: BotIdentity): [string, string] => ["Autocrypt-Gossip", `addr=${addr}; keydata=${key.keydataBase64}`];

/** A message from Bob (signed, his own Autocrypt header) carrying `gossip` among its protected headers. */
async function fromBob(account: BotAccount, gossip: Array<[string, string]>) {
  return userMail({ from: BOB, to: BOT, recipientKey: account.identity.publicKey, signer: bob, body: { kind: "text", text: "hello" }, headers: gossip });
}

describe("Autocrypt-Gossip from a hostile member", () => {
  it(`at the cap (${GOSSIP_KEYS_PER_MAIL_MAX} made-up addresses in one mail): each is kept, and the mail runs`, async () => {
    const account = await bot();
    const gossip = Array.from({ length: GOSSIP_KEYS_PER_MAIL_MAX }, (_, i) => gossipHeader(`m${i}@evil.test`, mallory));
    const result = await receiveMail(account, (await fromBob(account, gossip)).raw, LIMITS);
    expect(result.kind).toBe("event");
    expect(await account.peers.get(`m${GOSSIP_KEYS_PER_MAIL_MAX - 1}@evil.test`)).toMatchObject({ fingerprint: mallory.fingerprint, gossip: true });
  }, 60_000);

  it("one over the cap: the headers after the first GOSSIP_KEYS_PER_MAIL_MAX are not read", async () => {
    const account = await bot();
    const gossip = Array.from({ length: GOSSIP_KEYS_PER_MAIL_MAX + 1 }, (_, i) => gossipHeader(`m${i}@evil.test`, mallory));
    const result = await receiveMail(account, (await fromBob(account, gossip)).raw, LIMITS);
    expect(result.kind).toBe("event");
    expect(await account.peers.get(`m${GOSSIP_KEYS_PER_MAIL_MAX - 1}@evil.test`)).toBeDefined();
    expect(await account.peers.get(`m${GOSSIP_KEYS_PER_MAIL_MAX}@evil.test`)).toBeUndefined();
  }, 60_000);

  it("Bob's gossip of another key for Alice, who announced her own: Alice keeps hers (the bot still writes to her key)", async () => {
    const account = await bot();
    const own = await userMail({ from: ALICE, to: BOT, recipientKey: account.identity.publicKey, signer: alice, body: { kind: "text", text: "hi" } });
    expect((await receiveMail(account, own.raw, LIMITS)).kind).toBe("event");
    const result = await receiveMail(account, (await fromBob(account, [gossipHeader(ALICE, mallory)])).raw, LIMITS);
    expect(result.kind).toBe("event");
    expect(await account.peers.get(ALICE)).toMatchObject({ fingerprint: alice.fingerprint });
    expect((await account.peers.get(ALICE))?.gossip).toBeUndefined();
  });

  it("gossip fills in a member the bot has no key for; that member's own Autocrypt key later replaces it", async () => {
    const account = await bot();
    expect((await receiveMail(account, (await fromBob(account, [gossipHeader(ALICE, mallory)])).raw, LIMITS)).kind).toBe("event");
    expect(await account.peers.get(ALICE)).toMatchObject({ fingerprint: mallory.fingerprint, gossip: true });
    const own = await userMail({ from: ALICE, to: BOT, recipientKey: account.identity.publicKey, signer: alice, body: { kind: "text", text: "hi" } });
    expect((await receiveMail(account, own.raw, LIMITS)).kind).toBe("event");
    expect(await account.peers.get(ALICE)).toMatchObject({ fingerprint: alice.fingerprint });
    expect((await account.peers.get(ALICE))?.gossip).toBeUndefined();
  });
});
