// One incoming mail for a bot account → what to do with it: drop it (with the reason), answer a
// SecureJoin step, record a group change, hold half of a split message, or run the bot on an event.
// Plaintext exists only in here and in the isolate (held halves stay encrypted on disk). Order
// matters: size cap, decrypt, verify, then dedup (so unverified mail can never mark a Message-ID
// as seen), then joining pre-/post-messages (PROTOCOL §2), then groups and the event.
import type * as openpgp from "openpgp";
import type { GuestEvent, IncomingMessageData } from "../../std/contract.js";
import { isChatbotError } from "../errors.js";
import { parseCommand } from "../mail/command.js";
import { parseOuter } from "./mime/parse-outer.js";
import { parseInner, type DeltaInner } from "./mime/parse-inner.js";
import { parsePlainSecureJoinRequest } from "./mime/parse-plain-securejoin.js";
import { decryptAndVerify } from "./pgp/decrypt.js";
import { decryptSymmetric } from "./pgp/securejoin-symmetric.js";
import { fingerprintOf, parseAutocryptHeader } from "./pgp/autocrypt.js";
import { answerLegacyRequest, answerRequestPubkey, answerRequestWithAuth, secureJoinPasswords, type HandshakeOutcome } from "./securejoin/responder.js";
import type { BotAccount } from "./bot-account.js";
import { applyGroupHeaders } from "./group-updates.js";

/** What became of an incoming mail. */
export type Inbound =
  | { kind: "drop"; reason: string }
  | { kind: "handshake"; outcome: HandshakeOutcome }
  | { kind: "group-update"; log: string }
  /** `key` names the event for stable outgoing Message-IDs (outbound): the incoming Message-ID, the same on a re-delivery. */
  | { kind: "event"; event: GuestEvent; attachments: Uint8Array[]; sender: string; key: string }
  /** Half of a split message (PROTOCOL §2), kept in account.pending until its other half arrives. */
  | { kind: "held"; reason: string };

const drop = (reason: string): Inbound => ({ kind: "drop", reason });

/** The sender's key from this message's Autocrypt header, if it names the sender. */
async function autocryptKey(account: BotAccount, inner: DeltaInner, sender: string): Promise<{ key: openpgp.PublicKey; keydataBase64: string } | undefined> {
  const header = inner.autocrypt ? parseAutocryptHeader(inner.autocrypt) : undefined;
  if (!header || header.addr !== sender) return undefined;
  try {
    const keydataBase64 = Buffer.from(header.keydata).toString("base64");
    return { key: await account.peers.key(keydataBase64), keydataBase64 };
  } catch {
    return undefined;
  }
}

/** Keep the keys other members gossip, so the bot can write to a group it was added to. */
async function rememberGossip(account: BotAccount, inner: DeltaInner, sender: string): Promise<void> {
  for (const value of inner.gossip) {
    const header = parseAutocryptHeader(value);
    if (!header || header.addr === sender || header.addr === account.addr.toLowerCase()) continue;
    try {
      const keydataBase64 = Buffer.from(header.keydata).toString("base64");
      const key = await account.peers.key(keydataBase64);
      await account.peers.remember(header.addr, fingerprintOf(key), keydataBase64);
    } catch {
      // an unusable gossip key is ignored
    }
  }
}

/** A handled mail's identity: record it in account.seen once the mail's effects are complete. */
export interface SeenKey {
  sender: string;
  messageId: string;
}

/** Options of receiveMail. */
export interface ReceiveOptions {
  /**
   * Do not record the Message-ID as seen; return it as `seen` for the caller to record once the
   * mail's effects (replies sent, state saved) are complete. A host that can crash between
   * receiving and replying needs this, or the retry would be dropped as a duplicate.
   */
  deferSeen?: boolean;
}

/** Decide what an incoming mail means for the bot `account`. Never throws for bad mail. */
export async function receiveMail(
  account: BotAccount,
  raw: Uint8Array,
  limits: { maxBytes: number },
  options: ReceiveOptions = {},
): Promise<Inbound & { seen?: SeenKey }> {
  const context: { seen?: SeenKey } = {};
  let result: Inbound;
  try {
    result = await classify(account, raw, limits, context);
  } catch (error) {
    if (isChatbotError(error) && (error.who === "sender" || error.who === "author")) return drop(`${error.code}: ${error.message}`);
    throw error;
  }
  const seen = context.seen;
  if (!seen || result.kind === "drop") return result;
  // A held half's only effect (the pending store) is already durable: record it now.
  if (!options.deferSeen || result.kind === "held") {
    await account.seen.add(seen.sender, seen.messageId);
    return result;
  }
  return { ...result, seen };
}

/** A mail that decrypted with the bot's key and is validly signed by the sender's key. */
interface Verified {
  kind: "verified";
  sender: string;
  /** Primary fingerprint of the key that signed it. */
  signer: string;
  senderKey: openpgp.PublicKey;
  inner: DeltaInner;
  /** The inner Message-ID, else the outer one. */
  messageId: string | undefined;
}

/**
 * Parse, decrypt and verify one mail: a SecureJoin handshake, a drop, or a verified message. Has
 * no effect on the stores except remembering the sender's key from a validly signed message.
 */
async function verify(account: BotAccount, raw: Uint8Array, limits: { maxBytes: number }): Promise<Inbound | Verified> {
  const outer = parseOuter(raw, limits);
  const sender = outer.from;
  if (!sender) return drop("no From address");
  if (sender === account.addr.toLowerCase()) return drop("sent by the bot itself");

  if (!outer.encrypted) {
    const request = await parsePlainSecureJoinRequest(raw);
    if (!request) return drop("unencrypted, and not a SecureJoin request");
    if (request.from.toLowerCase() !== sender) return drop("SecureJoin request whose From differs");
    return { kind: "handshake", outcome: await answerLegacyRequest(account, request) };
  }

  const stored = await account.peers.get(sender);
  const storedKey = stored ? await account.peers.key(stored.keydataBase64) : undefined;
  let decrypted;
  try {
    decrypted = await decryptAndVerify(outer.encrypted.armored, account.identity, storedKey ? [storedKey] : [], limits);
  } catch (error) {
    if (!isChatbotError(error) || (error.code !== "E_PGP_DECRYPT" && error.code !== "E_PGP_MALFORMED")) throw error;
    // Not for the bot's key: a SecureJoin v3 request encrypted with an invite's password?
    const symmetric = await decryptSymmetric(outer.encrypted.armored, await secureJoinPasswords(account), limits).catch(() => undefined);
    if (!symmetric) return drop(`cannot decrypt (${error.code})`);
    const inner = await parseInner(symmetric.inner, limits);
    if (inner.from?.addr.toLowerCase() !== sender) return drop("inner and outer From differ");
    return { kind: "handshake", outcome: await answerRequestPubkey(account, inner, symmetric.password) };
  }

  const inner = await parseInner(decrypted.inner, limits);
  if (inner.from?.addr.toLowerCase() !== sender) return drop("inner and outer From differ");

  // Valid signature by the key in this message's Autocrypt header, or by the stored key.
  let signer = decrypted.signerFingerprint;
  let senderKey = storedKey;
  const announced = await autocryptKey(account, inner, sender);
  if (announced && signer === undefined) {
    const again = await decryptAndVerify(outer.encrypted.armored, account.identity, [announced.key], limits);
    signer = again.signerFingerprint;
  }
  if (!signer) return drop("no valid signature by the sender's key (unsigned, or signed by an unknown key)");
  // A key SecureJoin verified for this address is the only one that speaks for it: a message
  // signed by any other key — even one its own Autocrypt header announces — is someone else's
  // (core 2.x: a different key is a different contact). PeerStore never replaces that key either.
  if (stored?.verified && signer !== stored.fingerprint) return drop(`signature by ${signer}, not by ${sender}'s verified key ${stored.fingerprint}`);
  if (announced && signer === fingerprintOf(announced.key)) senderKey = announced.key;
  if (!senderKey || fingerprintOf(senderKey) !== signer) return drop("signature by a key that does not match the sender");
  if (announced && senderKey === announced.key) await account.peers.remember(sender, signer, announced.keydataBase64);
  return { kind: "verified", sender, signer, senderKey, inner, messageId: inner.messageId ?? outer.messageId };
}

async function classify(account: BotAccount, raw: Uint8Array, limits: { maxBytes: number }, context: { seen?: SeenKey }): Promise<Inbound> {
  const verified = await verify(account, raw, limits);
  if (verified.kind !== "verified") return verified;
  const { sender, signer, senderKey } = verified;
  let inner = verified.inner;

  const messageId = verified.messageId;
  if (!messageId) return drop("no Message-ID");
  const split = splitMessage(inner, messageId);
  if (split?.kind === "invalid") return drop(split.reason);
  // A half signed by another key than the held other half is dropped before its Message-ID
  // counts as seen and without using the held half, so the real one still joins.
  if (split) {
    const held = await account.pending.find(sender, split.postId, split.half === "pre" ? "post" : "pre");
    if (held && held.signer !== signer) return drop(`${split.half}-message of ${split.postId} is signed by ${signer}, its ${held.half}-message by ${held.signer}`);
  }
  if (await account.seen.has(sender, messageId)) return drop(`duplicate Message-ID ${messageId}`);
  context.seen = { sender, messageId };
  await rememberGossip(account, inner, sender);

  const step = inner.secureJoin?.step;
  if (step === "vc-request-with-auth" || step === "vg-request-with-auth") {
    return { kind: "handshake", outcome: await answerRequestWithAuth(account, inner, signer, senderKey) };
  }
  if (step) return drop(`SecureJoin step ${step} is not for an inviter`);

  // The bot runs once per split message, on the pre-message's text and headers with the
  // post-message's attachments, under the post-message's Message-ID (the id core keeps for the
  // whole message, and the one later quotes, reactions, edits and deletions refer to).
  let attachments = inner.attachments;
  let eventId = messageId;
  if (split) {
    const other = split.half === "pre" ? "post" : "pre";
    const held = await account.pending.take(sender, split.postId, other);
    const opened = held ? await verify(account, held.raw, limits) : undefined;
    if (!opened) {
      const kept = await account.pending.hold({ postId: split.postId, half: split.half, sender, signer }, raw);
      if (!kept) return drop(`${split.half}-message ${messageId} is too large to hold until its ${other}-message arrives`);
      return { kind: "held", reason: `${split.half}-message of ${split.postId}, waiting for its ${other}-message` };
    }
    if (opened.kind !== "verified" || opened.sender !== sender || opened.signer !== signer) {
      return drop(`the held ${other}-message of ${split.postId} no longer verifies as ${sender}'s`);
    }
    const pre = split.half === "pre" ? inner : opened.inner;
    const post = split.half === "post" ? inner : opened.inner;
    inner = pre;
    attachments = post.attachments;
    eventId = split.postId;
  }

  const group = inner.group ? await applyGroupHeaders(account, inner, sender) : undefined;
  if (group?.kind === "ignore") return drop(group.reason);
  if (group?.kind === "update-only") return { kind: "group-update", log: group.log };
  if (inner.deletes.length > 0 || inner.edit) return drop("deletions and edits are not passed to bots");

  const from = { addr: sender, name: inner.from?.name ?? "" };
  const chat = group?.kind === "message" ? { id: `group:${group.group.id}`, type: "group" as const, name: group.group.name } : { id: sender, type: "single" as const, name: from.name || sender };
  if (inner.webxdcStatus) {
    const instanceId = inner.inReplyTo;
    if (!instanceId) return drop("webxdc status update without In-Reply-To");
    const updates = inner.webxdcStatus.updates.map((update) => {
      const u = (update ?? {}) as { payload?: unknown; info?: string; summary?: string };
      return { instanceId, from, chat, payload: u.payload ?? null, ...(u.info ? { info: u.info } : {}), ...(u.summary ? { summary: u.summary } : {}) };
    });
    const [first, ...more] = updates;
    if (first) {
      // Every update of the mail reaches the bot, in order, in one event (core batches updates sent in quick succession).
      return { kind: "event", event: { kind: "webxdc", update: first, ...(more.length > 0 ? { more } : {}) }, attachments: [], sender, key: messageId };
    }
    return drop("empty webxdc status update");
  }

  const command = parseCommand(inner.text);
  const message: IncomingMessageData = {
    id: eventId,
    text: inner.text,
    from,
    chat,
    attachments: attachments.map((a) => ({ name: a.name, type: a.type, size: a.data.byteLength })),
    ...(command ? { command } : {}),
    date: (inner.date ?? new Date(account.now())).getTime(),
    ...(inner.reaction && inner.inReplyTo ? { reaction: { emoji: inner.reaction.emoji, to: inner.inReplyTo } } : {}),
  };
  return { kind: "event", event: { kind: "message", message }, attachments: attachments.map((a) => a.data), sender, key: eventId };
}

/**
 * Which half of a split message (PROTOCOL §2) `inner` is: the pre-message names its post-message
 * in Chat-Post-Message-ID, the post-message has Chat-Is-Post-Message: 1 and is itself the id.
 */
function splitMessage(inner: DeltaInner, messageId: string): { kind: "half"; half: "pre" | "post"; postId: string } | { kind: "invalid"; reason: string } | undefined {
  const { isPost, preFor } = inner.postMessage;
  if (isPost && preFor !== undefined) return { kind: "invalid", reason: "both a pre-message and a post-message" };
  if (preFor !== undefined) {
    if (preFor === messageId) return { kind: "invalid", reason: "pre-message that names itself as its post-message" };
    if (inner.secureJoin || inner.webxdcStatus || inner.reaction) return { kind: "invalid", reason: "pre-message of a SecureJoin step, status update or reaction" };
    return { kind: "half", half: "pre", postId: preFor };
  }
  if (isPost) {
    if (inner.secureJoin) return { kind: "invalid", reason: "post-message of a SecureJoin step" };
    return { kind: "half", half: "post", postId: messageId };
  }
  return undefined;
}
