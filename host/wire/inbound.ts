// One incoming mail for a bot account → what to do with it: drop it (with the reason), answer a
// SecureJoin step, record a group change, or run the bot on an event. Plaintext exists only in
// here and in the isolate. Order matters: size cap, decrypt, verify, then dedup (so unverified
// mail can never mark a Message-ID as seen).
import type * as openpgp from "openpgp";
import type { GuestEvent, IncomingMessageData } from "../../std/contract.js";
import { isChatbotError } from "../errors.js";
import { parseCommand } from "../mail/command.js";
import { parseOuter } from "./mime/parse-outer.js";
import { parseInner, type DeltaInner } from "./mime/parse-inner.js";
import { parsePlainSecureJoinRequest } from "./mime/parse-plain-securejoin.js";
import { decryptAndVerify } from "./pgp/decrypt.js";
import { decryptSymmetric } from "./pgp/securejoin-symmetric.js";
import { fingerprintOf, parseAutocryptHeader, publicKeyFromKeydata } from "./pgp/autocrypt.js";
import { answerLegacyRequest, answerRequestPubkey, answerRequestWithAuth, secureJoinPasswords, type HandshakeOutcome } from "./securejoin/responder.js";
import type { BotAccount } from "./bot-account.js";
import { applyGroupHeaders } from "./group-updates.js";

/** What became of an incoming mail. */
export type Inbound =
  | { kind: "drop"; reason: string }
  | { kind: "handshake"; outcome: HandshakeOutcome }
  | { kind: "group-update"; log: string }
  | { kind: "event"; event: GuestEvent; attachments: Uint8Array[]; sender: string };

const drop = (reason: string): Inbound => ({ kind: "drop", reason });

/** The sender's key from this message's Autocrypt header, if it names the sender. */
async function autocryptKey(inner: DeltaInner, sender: string): Promise<{ key: openpgp.PublicKey; keydataBase64: string } | undefined> {
  const header = inner.autocrypt ? parseAutocryptHeader(inner.autocrypt) : undefined;
  if (!header || header.addr !== sender) return undefined;
  try {
    return { key: await publicKeyFromKeydata(header.keydata), keydataBase64: Buffer.from(header.keydata).toString("base64") };
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
      const key = await publicKeyFromKeydata(header.keydata);
      await account.peers.remember(header.addr, fingerprintOf(key), Buffer.from(header.keydata).toString("base64"));
    } catch {
      // an unusable gossip key is ignored
    }
  }
}

/** Decide what an incoming mail means for the bot `account`. Never throws for bad mail. */
export async function receiveMail(account: BotAccount, raw: Uint8Array, limits: { maxBytes: number }): Promise<Inbound> {
  try {
    return await classify(account, raw, limits);
  } catch (error) {
    if (isChatbotError(error) && (error.who === "sender" || error.who === "author")) return drop(`${error.code}: ${error.message}`);
    throw error;
  }
}

async function classify(account: BotAccount, raw: Uint8Array, limits: { maxBytes: number }): Promise<Inbound> {
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
  const storedKey = stored ? await publicKeyFromKeydata(Buffer.from(stored.keydataBase64, "base64")) : undefined;
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
  const announced = await autocryptKey(inner, sender);
  if (announced && signer === undefined) {
    const again = await decryptAndVerify(outer.encrypted.armored, account.identity, [announced.key], limits);
    signer = again.signerFingerprint;
  }
  if (announced && signer === fingerprintOf(announced.key)) senderKey = announced.key;
  if (!signer || !senderKey || fingerprintOf(senderKey) !== signer) return drop("unsigned, or signed by a key that does not match the sender");
  if (announced && senderKey === announced.key) await account.peers.remember(sender, signer, announced.keydataBase64);

  const messageId = inner.messageId ?? outer.messageId;
  if (!messageId) return drop("no Message-ID");
  if (!(await account.seen.firstTime(messageId))) return drop(`duplicate Message-ID ${messageId}`);
  await rememberGossip(account, inner, sender);

  const step = inner.secureJoin?.step;
  if (step === "vc-request-with-auth" || step === "vg-request-with-auth") {
    return { kind: "handshake", outcome: await answerRequestWithAuth(account, inner, signer, senderKey) };
  }
  if (step) return drop(`SecureJoin step ${step} is not for an inviter`);

  const group = inner.group ? await applyGroupHeaders(account, inner, sender) : undefined;
  if (group?.kind === "ignore") return drop(group.reason);
  if (group?.kind === "update-only") return { kind: "group-update", log: group.log };
  if (inner.deletes.length > 0 || inner.edit) return drop("deletions and edits are not passed to bots");

  const from = { addr: sender, name: inner.from?.name ?? "" };
  const chat = group?.kind === "message" ? { id: `group:${group.group.id}`, type: "group" as const, name: group.group.name } : { id: sender, type: "single" as const, name: from.name || sender };
  if (inner.webxdcStatus) {
    const instanceId = inner.inReplyTo;
    if (!instanceId) return drop("webxdc status update without In-Reply-To");
    for (const update of inner.webxdcStatus.updates) {
      const u = (update ?? {}) as { payload?: unknown; info?: string; summary?: string };
      return {
        kind: "event",
        event: { kind: "webxdc", update: { instanceId, from, chat, payload: u.payload ?? null, ...(u.info ? { info: u.info } : {}), ...(u.summary ? { summary: u.summary } : {}) } },
        attachments: [],
        sender,
      };
    }
    return drop("empty webxdc status update");
  }

  const command = parseCommand(inner.text);
  const message: IncomingMessageData = {
    id: messageId,
    text: inner.text,
    from,
    chat,
    attachments: inner.attachments.map((a) => ({ name: a.name, type: a.type, size: a.data.byteLength })),
    ...(command ? { command } : {}),
    date: (inner.date ?? new Date(account.now())).getTime(),
    ...(inner.reaction && inner.inReplyTo ? { reaction: { emoji: inner.reaction.emoji, to: inner.inReplyTo } } : {}),
  };
  return { kind: "event", event: { kind: "message", message }, attachments: inner.attachments.map((a) => a.data), sender };
}
