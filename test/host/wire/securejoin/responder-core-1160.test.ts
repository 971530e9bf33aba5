// The host as SecureJoin inviter, fed with Delta Chat core 1.160's own recorded legacy handshake
// (test/fixtures/deltachat/core-1160-legacyqr: two 1.160 humans, Bob the inviter). The bot account
// is built from the recorded inviter's key and invite tokens, so its answers must carry what
// 1.160's own inviter sent in the same steps — the headers a 1.160 joiner needs to show the bot
// verified (issue 10): Secure-Join, Chat-Verified: 1, gossip of the joiner's key, the bot's
// Autocrypt key, a signature by the bot.
import { describe, expect, it } from "vitest";
import { receiveMail } from "../../../../host/wire/inbound.js";
import { recordedInviterAccount } from "./recorded-inviter.js";
import { parseOuter } from "../../../../host/wire/mime/parse-outer.js";
import { parseInner, type DeltaInner } from "../../../../host/wire/mime/parse-inner.js";
import { decryptAndVerify } from "../../../../host/wire/pgp/decrypt.js";
import { checkEncryptedMime } from "../../../../host/wire/filtermail-check.js";
import { fingerprintOf, parseAutocryptHeader, publicKeyFromKeydata } from "../../../../host/wire/pgp/autocrypt.js";
import { mailsForActions } from "../../../../host/wire/outbound.js";
import { CORE_1160_RUN, fixtureText, runKeys, type Party } from "../pgp/deltachat-fixtures.js";

const LIMITS = { maxBytes: 1024 * 1024 };
const RUN = CORE_1160_RUN;

async function recorded() {
  const keys = await runKeys(RUN);
  const secrets = JSON.parse(await fixtureText(`${RUN}/keys/securejoin.json`)) as { invitenumber: string; auth: string };
  const mail = async (n: string) => new Uint8Array(Buffer.from((await fixtureText(`${RUN}/${n}.eml`)).replace(/\r?\n/g, "\r\n")));
  const inner = async (n: string) => parseInner(Buffer.from((await fixtureText(`${RUN}/${n}.decrypted.eml`)).replace(/\r?\n/g, "\r\n")), LIMITS);
  return { keys, secrets, mail, inner };
}

/** A mail the bot sent, opened as Alice: it passes the relay's filter and decrypts with her key. */
async function openAsAlice(raw: string, alice: Party, bot: Party): Promise<{ inner: DeltaInner; signer: string | undefined }> {
  expect(checkEncryptedMime(raw)).toEqual({ ok: true });
  const outer = parseOuter(new Uint8Array(Buffer.from(raw)), LIMITS);
  const decrypted = await decryptAndVerify(outer.encrypted!.armored, alice.identity, [bot.publicKey], LIMITS);
  return { inner: await parseInner(decrypted.inner, LIMITS), signer: decrypted.signerFingerprint };
}

/** The fingerprint of the key an Autocrypt or Autocrypt-Gossip value carries, with its addr. */
async function keyOf(value: string): Promise<{ addr: string; fingerprint: string }> {
  const header = parseAutocryptHeader(value);
  if (!header) throw new Error(`unparsable Autocrypt value: ${value.slice(0, 60)}`);
  return { addr: header.addr, fingerprint: fingerprintOf(await publicKeyFromKeydata(header.keydata)) };
}

/** The headers of a vc-contact-confirm that a 1.x joiner's verification depends on. */
async function verificationHeaders(inner: DeltaInner) {
  return {
    secureJoin: inner.headers.get("secure-join"),
    chatVerified: inner.headers.get("chat-verified"),
    gossip: await Promise.all(inner.gossip.map(keyOf)),
  };
}

describe("SecureJoin responder on core 1.160's recorded legacy handshake", () => {
  it("the recorded 1.160 joiner marks vc-request-with-auth (03) Auto-Submitted: auto-replied inside the encryption — what the old host dropped", async () => {
    const { inner } = await recorded();
    const request = await inner("03");
    expect(request.secureJoin?.step).toBe("vc-request-with-auth");
    expect(request.headers.get("auto-submitted")).toEqual(["auto-replied"]);
  });

  it("the plaintext vc-request (01) is answered with vc-auth-required, encrypted to Alice and signed by the bot, gossiping her key", async () => {
    const { keys, secrets, mail } = await recorded();
    const account = await recordedInviterAccount(keys.B.identity, secrets);
    const result = await receiveMail(account, await mail("01"), LIMITS);
    expect(result.kind).toBe("handshake");
    if (result.kind !== "handshake") return;
    const { inner, signer } = await openAsAlice(result.outcome.replies[0]!.raw, keys.A, keys.B);
    expect(signer).toBe(keys.B.fingerprint);
    expect(inner.secureJoin?.step).toBe("vc-auth-required");
    expect(await Promise.all(inner.gossip.map(keyOf))).toEqual([{ addr: "alice@chat.test", fingerprint: keys.A.fingerprint }]);
  });

  it("01 then 03 complete the join: Alice verified, and the bot's vc-contact-confirm carries what 1.160's own (04) carries for verification", async () => {
    const { keys, secrets, mail, inner } = await recorded();
    const account = await recordedInviterAccount(keys.B.identity, secrets);
    expect((await receiveMail(account, await mail("01"), LIMITS)).kind).toBe("handshake");
    const result = await receiveMail(account, await mail("03"), LIMITS);
    expect(result.kind).toBe("handshake");
    if (result.kind !== "handshake") return;
    expect(result.outcome.joined).toEqual({ addr: "alice@chat.test" });
    expect(await account.peers.get("alice@chat.test")).toMatchObject({ fingerprint: keys.A.fingerprint, verified: true });

    const [reply] = result.outcome.replies;
    expect(reply?.recipients).toEqual(["alice@chat.test"]);
    const { inner: confirm, signer } = await openAsAlice(reply!.raw, keys.A, keys.B);
    expect(signer).toBe(keys.B.fingerprint);
    const expected = await verificationHeaders(await inner("04"));
    expect(expected).toEqual({
      secureJoin: ["vc-contact-confirm"],
      chatVerified: ["1"],
      gossip: [{ addr: "alice@chat.test", fingerprint: keys.A.fingerprint }],
    });
    expect(await verificationHeaders(confirm)).toEqual(expected);
    // 1.160 sends its Autocrypt key outside the encryption only; it reads a protected one first (mimeparser.rs).
    expect(await keyOf(confirm.autocrypt!)).toEqual({ addr: "bob@chat.test", fingerprint: keys.B.fingerprint });
  });

  it("after the join, the bot's reply to Alice's recorded text (05) carries Chat-Verified: 1, as the 1.160 human's reply (06) does", async () => {
    const { keys, secrets, mail, inner } = await recorded();
    const account = await recordedInviterAccount(keys.B.identity, secrets);
    await receiveMail(account, await mail("01"), LIMITS);
    await receiveMail(account, await mail("03"), LIMITS);
    const event = await receiveMail(account, await mail("05"), LIMITS);
    expect(event).toMatchObject({ kind: "event", event: { kind: "message", message: { text: "hello from A", chat: { id: "alice@chat.test" } } } });
    if (event.kind !== "event") return;
    const { mails } = await mailsForActions(account, [{ type: "reply", chatId: "alice@chat.test", inReplyTo: event.key, text: "reply from B" }], event.key);
    const { inner: sent, signer } = await openAsAlice(mails[0]!.raw, keys.A, keys.B);
    expect(signer).toBe(keys.B.fingerprint);
    expect((await inner("06")).headers.get("chat-verified")).toEqual(["1"]);
    expect(sent.headers.get("chat-verified")).toEqual(["1"]);
  });
  it("a 1.160 peer the bot never met is known from the outer Autocrypt header: its chat text (05) verifies without the handshake", async () => {
    // 1.160 puts Autocrypt outside the encryption only; a bot that reads only the protected header
    // could never verify mail from a 1.x person whose key it did not learn in a handshake.
    const { keys, secrets, mail, inner } = await recorded();
    expect((await inner("05")).autocrypt).toBeUndefined();
    const account = await recordedInviterAccount(keys.B.identity, secrets);
    const event = await receiveMail(account, await mail("05"), LIMITS);
    expect(event).toMatchObject({ kind: "event", event: { kind: "message", message: { text: "hello from A" } } });
    expect(await account.peers.get("alice@chat.test")).toMatchObject({ fingerprint: keys.A.fingerprint, verified: false });
  });
});
