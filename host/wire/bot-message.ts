// Compose one message from the bot in Delta Chat's format: the inner entity with protected
// headers (Chat-Version, Auto-Submitted on EVERY message — one without it flips the contact's bot
// flag off — and the bot's Autocrypt key), signed and encrypted, wrapped in the outer
// multipart/encrypted, and checked like filtermail would before it is handed to SMTP.
import type * as openpgp from "openpgp";
import { domainOf } from "../../core/address.js";
import { composeEncryptedOuter, composeInner, newMessageId, type InnerBody, type MailAddress } from "./mime/compose.js";
import { formatAutocryptHeader } from "./pgp/autocrypt.js";
import { signAndEncrypt } from "./pgp/encrypt.js";
import { encryptSymmetricSigned } from "./pgp/securejoin-symmetric.js";
import { assertEncryptedMime } from "./filtermail-check.js";
import type { BotAccount } from "./bot-account.js";

/** A composed mail ready for SMTP: envelope sender, envelope recipients and the raw message. */
export interface OutgoingMail {
  from: string;
  recipients: string[];
  raw: string;
  messageId: string;
}

/** What a bot message says; the composer adds From, Date, the standard headers and encryption. */
export interface BotMessage {
  to: MailAddress[];
  recipients: string[];
  subject: string;
  body: InnerBody;
  /** A fixed Message-ID (stable across retries); a fresh one when absent. */
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  /** Protected headers after the standard ones (group, SecureJoin, gossip, …). */
  headers?: Array<[string, string]>;
  /** Leave out Chat-Version (vc-pubkey does, like core). */
  withoutChatVersion?: boolean;
}

/** How the message is encrypted: to keys (and the bot), or with a SecureJoin v3 password. */
export type Encryption = { keys: openpgp.PublicKey[] } | { password: string };

/** Compose, sign, encrypt and self-check one bot message. */
export async function composeBotMessage(account: BotAccount, message: BotMessage, encryption: Encryption): Promise<OutgoingMail> {
  const { identity } = account;
  const messageId = message.messageId ?? newMessageId(domainOf(account.addr));
  const date = new Date(account.now());
  const standard: Array<[string, string]> = [
    ...(message.withoutChatVersion ? [] : ([["Chat-Version", "1.0"]] as Array<[string, string]>)),
    ["Auto-Submitted", "auto-generated"],
    ["Autocrypt", formatAutocryptHeader(account.addr, identity.keydataBase64)],
  ];
  const inner = composeInner({
    from: { addr: account.addr, name: account.name },
    to: message.to,
    date,
    messageId,
    subject: message.subject,
    ...(message.inReplyTo ? { inReplyTo: message.inReplyTo } : {}),
    ...(message.references ? { references: message.references } : {}),
    headers: [...standard, ...(message.headers ?? [])],
    body: message.body,
  });
  const armored =
    "password" in encryption ? await encryptSymmetricSigned(inner, encryption.password, identity) : await signAndEncrypt(inner, encryption.keys, identity);
  // The outer To names the recipient of a mail to one person: their server has the address from
  // the envelope anyway, and core up to 1.151 reads gossip only for addresses in the outer To
  // (without it, their SecureJoin stops at "No self addr+pubkey gossip found"). Mail to several
  // keeps "hidden-recipients", as core 2.x does: no server learns the other members from it.
  const to = message.recipients.length === 1 ? message.recipients[0] : undefined;
  // The bot's key outside too: core before ~1.140 reads Autocrypt only from the outer headers, to
  // verify the signature before it opens the message (decrypt.rs prepare_decryption); without it
  // the bot's SecureJoin reply shows as plain text and the join never completes. 1.x sends it
  // only there; 2.x reads the protected copy first. The key is public, so nothing leaks.
  const outerAutocrypt: Array<[string, string]> = "keys" in encryption ? [["Autocrypt", formatAutocryptHeader(account.addr, identity.keydataBase64)]] : [];
  const raw = composeEncryptedOuter({ from: account.addr, date, messageId, armored, extraHeaders: outerAutocrypt, ...(to !== undefined ? { to } : {}) });
  // Never hand the relay a mail its filter would bounce with "523 Encryption Needed".
  assertEncryptedMime(raw);
  return { from: account.addr, recipients: message.recipients, raw, messageId };
}
