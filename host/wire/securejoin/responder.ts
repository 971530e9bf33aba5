// The bot as SecureJoin inviter (PROTOCOL §4; core src/securejoin.rs). Each incoming handshake
// step is answered here; everything else in the host only routes messages to these functions.
//   v3:     vc-request-pubkey (symmetric)  → vc-pubkey (symmetric, signed, bot's Autocrypt key)
//   legacy: vc-/vg-request (plaintext)     → vc-/vg-auth-required (encrypted to the joiner)
//   both:   vc-/vg-request-with-auth       → vc-contact-confirm, or the joiner is added to the
//                                             group and every member gets vg-member-added
import type * as openpgp from "openpgp";
import type { DeltaInner } from "../mime/parse-inner.js";
import type { PlainSecureJoinRequest } from "../mime/parse-plain-securejoin.js";
import { parseAutocryptHeader, publicKeyFromKeydata, fingerprintOf, formatAutocryptHeader } from "../pgp/autocrypt.js";
import { secureJoinPassword } from "../pgp/securejoin-symmetric.js";
import { composeBotMessage, type OutgoingMail } from "../bot-message.js";
import type { BotAccount } from "../bot-account.js";
import { composeMemberAdded } from "../group-message.js";
import { VERIFIED_CHAT_HEADER } from "../verified-chat.js";

/** A handshake step's outcome: mails to send, who joined, and a line for the log. */
export interface HandshakeOutcome {
  replies: OutgoingMail[];
  /** Set when a contact or group join completed. */
  joined?: { addr: string; groupId?: string };
  log: string;
}

/** Auth tokens count as proof of a verified contact for this long (core: 7 days). */
const VERIFICATION_WINDOW_MS = 7 * 24 * 3600 * 1000;

const ignored = (log: string): HandshakeOutcome => ({ replies: [], log });

/** The password a v3 request must be encrypted with, for each auth token the bot has issued. */
export async function secureJoinPasswords(account: BotAccount): Promise<string[]> {
  return (await account.tokens.allAuths()).map((auth) => secureJoinPassword(account.identity.fingerprint, auth));
}

/** v3 step 1 → vc-pubkey, encrypted with the same password so only the QR's holder can read it. */
export async function answerRequestPubkey(account: BotAccount, inner: DeltaInner, password: string): Promise<HandshakeOutcome> {
  const auth = inner.secureJoin?.auth;
  const from = inner.from?.addr.toLowerCase();
  if (inner.secureJoin?.step !== "vc-request-pubkey" || !auth || !from) return ignored("securejoin: v3 request without step, auth or sender");
  if (secureJoinPassword(account.identity.fingerprint, auth) !== password || !(await account.tokens.byAuth(auth))) {
    return ignored("securejoin: v3 request whose auth does not match its password");
  }
  const reply = await composeBotMessage(
    account,
    {
      to: [{ addr: from }],
      recipients: [from],
      subject: "Secure-Join",
      body: { kind: "text", text: "Secure-Join" },
      headers: [
        ["Secure-Join", "vc-pubkey"],
        ["Secure-Join-Auth", auth],
      ],
    },
    { password },
  );
  return { replies: [reply], log: `securejoin: sent vc-pubkey to ${from}` };
}

/** Legacy step 1 (plaintext vc-request/vg-request) → vc-/vg-auth-required, encrypted to the joiner's key. */
export async function answerLegacyRequest(account: BotAccount, request: PlainSecureJoinRequest): Promise<HandshakeOutcome> {
  const tokens = await account.tokens.byInvitenumber(request.invitenumber);
  if (!tokens) return ignored(`securejoin: ${request.step} from ${request.from} with an unknown invitenumber`);
  if ((request.step === "vg-request") !== (tokens.groupId !== undefined)) return ignored("securejoin: invite kind does not match the request");
  const header = request.autocrypt ? parseAutocryptHeader(request.autocrypt) : undefined;
  if (!header || header.addr !== request.from.toLowerCase()) return ignored(`securejoin: ${request.step} from ${request.from} without the sender's key`);
  const key = await publicKeyFromKeydata(header.keydata);
  await account.peers.remember(request.from, fingerprintOf(key), Buffer.from(header.keydata).toString("base64"));
  const prefix = request.step.slice(0, 2);
  const reply = await composeBotMessage(
    account,
    {
      to: [{ addr: request.from }],
      recipients: [request.from],
      subject: `Message from ${account.name}`,
      body: { kind: "text", text: `Secure-Join: ${prefix}-auth-required` },
      headers: [
        ["Secure-Join", `${prefix}-auth-required`],
        ["Autocrypt-Gossip", formatAutocryptHeader(header.addr, Buffer.from(header.keydata).toString("base64"))],
      ],
    },
    { keys: [key] },
  );
  return { replies: [reply], log: `securejoin: sent ${prefix}-auth-required to ${request.from}` };
}

/** The gossiped keys of a message, by address. */
async function gossipedKeys(inner: DeltaInner): Promise<Map<string, openpgp.PublicKey>> {
  const keys = new Map<string, openpgp.PublicKey>();
  for (const value of inner.gossip) {
    const header = parseAutocryptHeader(value);
    if (!header) continue;
    try {
      keys.set(header.addr, await publicKeyFromKeydata(header.keydata));
    } catch {
      // An unusable gossip key is ignored, like core does.
    }
  }
  return keys;
}

/**
 * Step 3 (vc-/vg-request-with-auth, encrypted and signed) → verified contact or group member.
 * `signer` is the fingerprint whose signature verified against the key in this message's
 * Autocrypt header (or a stored key); `senderKey` is that key.
 */
export async function answerRequestWithAuth(
  account: BotAccount,
  inner: DeltaInner,
  signer: string | undefined,
  senderKey: openpgp.PublicKey | undefined,
): Promise<HandshakeOutcome> {
  const step = inner.secureJoin?.step;
  const from = inner.from?.addr.toLowerCase();
  const claimed = inner.secureJoin?.fingerprint?.replace(/\s+/g, "").toUpperCase();
  const auth = inner.secureJoin?.auth;
  if (!from || !claimed || !auth || (step !== "vc-request-with-auth" && step !== "vg-request-with-auth")) {
    return ignored("securejoin: request-with-auth without sender, fingerprint or auth");
  }
  // Signed by exactly the key the joiner claims (core: encrypted_and_signed with that fingerprint).
  if (!signer || signer !== claimed || !senderKey) return ignored(`securejoin: ${step} from ${from} not signed by its Secure-Join-Fingerprint`);
  // The joiner must gossip the bot's own key: proof the message was meant for us (core: "No self addr+pubkey gossip").
  const gossip = await gossipedKeys(inner);
  const ours = gossip.get(account.addr.toLowerCase());
  if (!ours || fingerprintOf(ours) !== account.identity.fingerprint) return ignored(`securejoin: ${step} from ${from} without the bot's key in gossip`);
  const tokens = await account.tokens.byAuth(auth);
  if (!tokens) return ignored(`securejoin: ${step} from ${from} with an unknown auth`);
  if ((step === "vg-request-with-auth") !== (tokens.groupId !== undefined)) return ignored("securejoin: invite kind does not match the request");

  const verified = account.now() - tokens.createdAt < VERIFICATION_WINDOW_MS;
  const keydataBase64 = Buffer.from(senderKey.write()).toString("base64");
  await account.peers.remember(from, claimed, keydataBase64, { verified });

  if (tokens.groupId === undefined) {
    const reply = await composeBotMessage(
      account,
      {
        to: [{ addr: from }],
        recipients: [from],
        subject: `Message from ${account.name}`,
        body: { kind: "text", text: "Secure-Join: vc-contact-confirm" },
        headers: [
          ["Secure-Join", "vc-contact-confirm"],
          // Without gossip of the joiner's own key their client never reaches progress 1000 (PROTOCOL §4).
          ["Autocrypt-Gossip", formatAutocryptHeader(from, keydataBase64)],
          // Core 1.x marks the bot verified (backward verification) only on a Chat-Verified message.
          ...(verified ? [VERIFIED_CHAT_HEADER] : []),
        ],
      },
      { keys: [senderKey] },
    );
    return { replies: [reply], joined: { addr: from }, log: `securejoin: ${from} joined (verified: ${verified})` };
  }

  const group = await account.groups.update(tokens.groupId, (g) => ({ ...g, members: [...g.members, from], left: false }));
  const reply = await composeMemberAdded(account, group, { addr: from, fingerprint: claimed }, { headers: [["Secure-Join", "vg-member-added"]] });
  return { replies: [reply], joined: { addr: from, groupId: group.id }, log: `securejoin: ${from} joined group ${group.id}` };
}
