// The host as SecureJoin inviter, fed with Delta Chat core 2.57's own recorded handshake messages
// (test/fixtures/deltachat): the bot account is built from the recorded inviter's key and tokens,
// so every step must be answered exactly as core's inviter did.
import type * as openpgp from "openpgp";
import { describe, expect, it } from "vitest";
import { receiveMail } from "../../../../host/wire/inbound.js";
import { recordedInviterAccount } from "./recorded-inviter.js";
import type { BotIdentity } from "../../../../host/wire/pgp/identity.js";
import { parseOuter } from "../../../../host/wire/mime/parse-outer.js";
import { parseInner } from "../../../../host/wire/mime/parse-inner.js";
import { decryptSymmetric, secureJoinPassword } from "../../../../host/wire/pgp/securejoin-symmetric.js";
import { decryptAndVerify } from "../../../../host/wire/pgp/decrypt.js";
import { checkEncryptedMime } from "../../../../host/wire/filtermail-check.js";
import { parseAutocryptHeader } from "../../../../host/wire/pgp/autocrypt.js";
import { fixtureText, runKeys } from "../pgp/deltachat-fixtures.js";

const LIMITS = { maxBytes: 1024 * 1024 };

async function recordedRun(run: "plain" | "plain-legacyqr") {
  const keys = await runKeys(run);
  const secrets = JSON.parse(await fixtureText(`${run}/keys/securejoin.json`)) as { invitenumber: string; auth: string };
  const mail = async (n: string) => new Uint8Array(Buffer.from((await fixtureText(`${run}/${n}.eml`)).replace(/\r?\n/g, "\r\n")));
  return { keys, secrets, mail };
}

/** The decrypted inner of a reply, with Alice's key; asserts it passes the relay's filter. */
async function openReply(raw: string, alice: BotIdentity, bob: openpgp.PublicKey) {
  expect(checkEncryptedMime(raw)).toEqual({ ok: true });
  const outer = parseOuter(new Uint8Array(Buffer.from(raw)), LIMITS);
  const decrypted = await decryptAndVerify(outer.encrypted!.armored, alice, [bob], LIMITS);
  return { inner: await parseInner(decrypted.inner, LIMITS), signer: decrypted.signerFingerprint };
}

describe("SecureJoin responder on core's recorded messages", () => {
  it("v3: vc-request-pubkey is answered with vc-pubkey, encrypted with the same password, signed, with the bot's key", async () => {
    const { keys, secrets, mail } = await recordedRun("plain");
    const account = await recordedInviterAccount(keys.B.identity, secrets);
    const result = await receiveMail(account, await mail("01"), LIMITS);
    expect(result.kind).toBe("handshake");
    if (result.kind !== "handshake") return;
    const [reply] = result.outcome.replies;
    expect(reply?.recipients).toEqual(["alice@chat.test"]);
    expect(checkEncryptedMime(reply!.raw)).toEqual({ ok: true });
    const armored = parseOuter(new Uint8Array(Buffer.from(reply!.raw)), LIMITS).encrypted!.armored;
    const opened = await decryptSymmetric(armored, [secureJoinPassword(keys.B.fingerprint, secrets.auth)], LIMITS);
    const inner = await parseInner(opened!.inner, LIMITS);
    expect(inner.secureJoin).toMatchObject({ step: "vc-pubkey", auth: secrets.auth });
    expect(parseAutocryptHeader(inner.autocrypt!)?.addr).toBe("bob@chat.test");
    expect(inner.autoSubmitted).toBe("auto-generated");
  });

  it("v3: vc-request-with-auth makes Alice a verified contact and is answered with vc-contact-confirm gossiping her key", async () => {
    const { keys, secrets, mail } = await recordedRun("plain");
    const account = await recordedInviterAccount(keys.B.identity, secrets);
    const result = await receiveMail(account, await mail("03"), LIMITS);
    expect(result.kind).toBe("handshake");
    if (result.kind !== "handshake") return;
    expect(result.outcome.joined).toEqual({ addr: "alice@chat.test" });
    expect(await account.peers.get("alice@chat.test")).toMatchObject({ fingerprint: keys.A.fingerprint, verified: true });
    const { inner, signer } = await openReply(result.outcome.replies[0]!.raw, keys.A.identity, keys.B.publicKey);
    expect(signer).toBe(keys.B.fingerprint);
    expect(inner.secureJoin?.step).toBe("vc-contact-confirm");
    expect(inner.gossip.map((g) => parseAutocryptHeader(g)?.addr)).toEqual(["alice@chat.test"]);
    expect(inner.chatVersion).toBe("1.0");
  });

  it("the same vc-request-with-auth replayed is dropped as a duplicate", async () => {
    const { keys, secrets, mail } = await recordedRun("plain");
    const account = await recordedInviterAccount(keys.B.identity, secrets);
    await receiveMail(account, await mail("03"), LIMITS);
    expect(await receiveMail(account, await mail("03"), LIMITS)).toMatchObject({ kind: "drop", reason: expect.stringMatching(/duplicate/) });
  });

  it("a vc-request-with-auth with an auth token the bot never issued gets no answer", async () => {
    const { keys, mail } = await recordedRun("plain");
    const account = await recordedInviterAccount(keys.B.identity, { invitenumber: "other", auth: "other-auth-token-xyz" });
    const result = await receiveMail(account, await mail("03"), LIMITS);
    expect(result).toMatchObject({ kind: "handshake", outcome: { replies: [] } });
    expect(await account.peers.get("alice@chat.test").then((p) => p?.verified)).not.toBe(true);
  });

  it("a v3 request for a bot without that invite cannot even be decrypted and is dropped", async () => {
    const { keys, mail } = await recordedRun("plain");
    const account = await recordedInviterAccount(keys.B.identity, undefined);
    expect(await receiveMail(account, await mail("01"), LIMITS)).toMatchObject({ kind: "drop" });
  });

  it("legacy: the plaintext vc-request is answered with vc-auth-required, encrypted to Alice's key", async () => {
    const { keys, secrets, mail } = await recordedRun("plain-legacyqr");
    const account = await recordedInviterAccount(keys.B.identity, secrets);
    const result = await receiveMail(account, await mail("01"), LIMITS);
    expect(result.kind).toBe("handshake");
    if (result.kind !== "handshake") return;
    const { inner, signer } = await openReply(result.outcome.replies[0]!.raw, keys.A.identity, keys.B.publicKey);
    expect(signer).toBe(keys.B.fingerprint);
    expect(inner.secureJoin?.step).toBe("vc-auth-required");
    // Alice is known (from her Autocrypt header) but not verified before step 3.
    expect(await account.peers.get("alice@chat.test")).toMatchObject({ fingerprint: keys.A.fingerprint, verified: false });
  });

  it("legacy: the recorded vc-request-with-auth then completes the join", async () => {
    const { keys, secrets, mail } = await recordedRun("plain-legacyqr");
    const account = await recordedInviterAccount(keys.B.identity, secrets);
    await receiveMail(account, await mail("01"), LIMITS);
    const result = await receiveMail(account, await mail("03"), LIMITS);
    expect(result).toMatchObject({ kind: "handshake", outcome: { joined: { addr: "alice@chat.test" } } });
  });

  it("the recorded chat text from Alice becomes a message event for the bot once she is known", async () => {
    const { keys, secrets, mail } = await recordedRun("plain");
    const account = await recordedInviterAccount(keys.B.identity, secrets);
    await receiveMail(account, await mail("03"), LIMITS);
    const result = await receiveMail(account, await mail("05"), LIMITS);
    expect(result.kind).toBe("event");
    if (result.kind !== "event" || result.event.kind !== "message") return;
    expect(result.event.message).toMatchObject({
      text: expect.stringMatching(/^hello from A/),
      from: { addr: "alice@chat.test", name: "Alice" },
      chat: { id: "alice@chat.test", type: "single" },
    });
  });
});
