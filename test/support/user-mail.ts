// Test support: mails "from a Delta Chat user" built with the host's own wire code — the inner
// entity (composeInner), signed and encrypted (signAndEncrypt) by any key, in the outer
// multipart/encrypted wrapper — including Delta Chat 2.x pre-/post-message pairs (core 2.57
// mimefactory.rs: the pre-message has the text, Chat-Post-Message-ID and Chat-Post-Message-Metadata;
// the post-message has Chat-Is-Post-Message: 1, an empty text and the file) and forgeries.
import * as openpgp from "openpgp";
import { composeEncryptedOuter, composeInner, newMessageId, type InnerBody } from "../../host/wire/mime/compose.js";
import { armorMessage } from "../../host/wire/pgp/armor.js";
import { formatAutocryptHeader } from "../../host/wire/pgp/autocrypt.js";
import { signAndEncrypt } from "../../host/wire/pgp/encrypt.js";
import { generateBotKeyArmored, identityFromArmored, type BotIdentity } from "../../host/wire/pgp/identity.js";

/**
 * A fresh key for `addr`, shaped like core's (Ed25519 primary + Cv25519 subkey); `createdAt` backdates
 * it, so it can sign an old mail (a key cannot sign before it exists).
 */
export async function newIdentity(addr: string, createdAt?: Date): Promise<BotIdentity> {
  if (!createdAt) return identityFromArmored(await generateBotKeyArmored(addr), addr);
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ email: addr }],
    date: createdAt,
    format: "armored",
    config: { aeadProtect: false, v6Keys: false },
  });
  return identityFromArmored(privateKey, addr);
}

/** A key for `addr` of a kind no Delta Chat core makes (NIST P-256): the host's own OpenPGP code leaves it to openpgp.js. */
export async function p256Identity(addr: string): Promise<BotIdentity> {
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "nistP256",
    userIDs: [{ email: addr }],
    format: "armored",
    config: { aeadProtect: false, v6Keys: false },
  });
  return identityFromArmored(privateKey, addr);
}

/** What one mail says and how it is protected. */
export interface UserMail {
  /** Inner and outer From (unless `outerFrom` differs). */
  from: string;
  to: string;
  /** Encrypted to this key (and the signer's own). */
  recipientKey: openpgp.PublicKey;
  /** Signs the mail; `undefined` = encrypted but unsigned. */
  signer: BotIdentity | undefined;
  /** Key announced in the inner Autocrypt header (default: the signer's). */
  autocrypt?: BotIdentity | undefined;
  body: InnerBody;
  messageId?: string;
  outerFrom?: string;
  date?: Date;
  headers?: Array<[string, string]>;
  /** The message it answers (a webxdc status update names its app's message here). */
  inReplyTo?: string;
  /** The signature's creation time (default: now); the signer's key must be older. */
  signedAt?: Date;
  /** Extra outer (unprotected) headers, before the others. */
  outerHeaders?: Array<[string, string]>;
}

/** The raw outer mail and its Message-ID. */
export async function userMail(mail: UserMail): Promise<{ raw: Uint8Array; text: string; messageId: string }> {
  const domain = mail.from.slice(mail.from.indexOf("@") + 1);
  const messageId = mail.messageId ?? newMessageId(domain);
  const date = mail.date ?? new Date();
  const announced = mail.autocrypt ?? mail.signer;
  const inner = composeInner({
    from: { addr: mail.from, name: "Alice" },
    to: [{ addr: mail.to }],
    date,
    messageId,
    subject: "Message from Alice",
    headers: [
      ["Chat-Version", "1.0"],
      ...(announced ? ([["Autocrypt", formatAutocryptHeader(mail.from, announced.keydataBase64)]] as Array<[string, string]>) : []),
      ...(mail.headers ?? []),
    ],
    body: mail.body,
    ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
  });
  const armored = await encryptInner(inner, mail.recipientKey, mail.signer, mail.signedAt);
  const outer = composeEncryptedOuter({ from: mail.outerFrom ?? mail.from, date, messageId, armored });
  const text = (mail.outerHeaders ?? []).map(([name, value]) => `${name}: ${value}\r\n`).join("") + outer;
  return { raw: new Uint8Array(Buffer.from(text)), text, messageId };
}

/** `inner` (a whole MIME entity, CRLF lines) encrypted to `recipientKey` and signed by `signer` at `signedAt` (default now), armored. */
export async function encryptInner(inner: string, recipientKey: openpgp.PublicKey, signer: BotIdentity | undefined, signedAt?: Date): Promise<string> {
  if (signer && !signedAt) return signAndEncrypt(inner, [recipientKey], signer);
  const message = await openpgp.createMessage({ binary: new TextEncoder().encode(inner) });
  if (signer && signedAt) {
    // Sign at the given time, then encrypt at now (openpgp.encrypt's `date` would check the
    // recipient's new key at the old time too): the packets are those of one pass — OnePassSig,
    // Literal, Signature inside the SEIPD. Message#sign's runtime parameters are (signingKeys,
    // recipientKeys, signature, signingKeyIDs, date); its typings lack recipientKeys.
    const sign = message.sign as unknown as (
      keys: openpgp.PrivateKey[],
      recipients: openpgp.PublicKey[],
      signature: null,
      keyIDs: openpgp.KeyID[],
      date: Date,
    ) => Promise<openpgp.Message<Uint8Array>>;
    const signed = await sign.call(message, [signer.privateKey], [], null, [], signedAt);
    const encrypted = await signed.encrypt([recipientKey, signer.publicKey]);
    return armorMessage(encrypted.write() as Uint8Array);
  }
  return armorMessage(await openpgp.encrypt({ message, encryptionKeys: [recipientKey], format: "binary", config: { aeadProtect: false } }));
}

/** What a mail built from a hand-written inner entity needs (see userMailFromInner). */
export interface RawInnerMail {
  from: string;
  recipientKey: openpgp.PublicKey;
  signer: BotIdentity | undefined;
  /** The whole inner MIME entity, CRLF lines. */
  inner: string;
  messageId: string;
  date?: Date;
}

/** A mail whose inner entity the test wrote by hand (e.g. core's read receipt), encrypted and wrapped like userMail's. */
export async function userMailFromInner(mail: RawInnerMail): Promise<{ raw: Uint8Array; text: string }> {
  const armored = await encryptInner(mail.inner, mail.recipientKey, mail.signer);
  const text = composeEncryptedOuter({ from: mail.from, date: mail.date ?? new Date(), messageId: mail.messageId, armored });
  return { raw: new Uint8Array(Buffer.from(text)), text };
}

/** A file too large to go in one message: core splits it into a pre- and a post-message. */
export interface SplitMail extends Omit<UserMail, "body" | "messageId"> {
  text: string;
  file: { name: string; type: string; data: Uint8Array };
  /** Message-ID of the post-message (core keeps it as the message's id). */
  postId?: string;
}

/** The pre-message and the post-message of one split message, as core 2.57 sends them. */
export async function splitMail(mail: SplitMail): Promise<{ pre: Uint8Array; post: Uint8Array; preId: string; postId: string }> {
  const domain = mail.from.slice(mail.from.indexOf("@") + 1);
  const postId = mail.postId ?? newMessageId(domain);
  const metadata = JSON.stringify({ size: mail.file.data.byteLength, viewtype: "File", filename: mail.file.name });
  const post = await userMail({
    ...mail,
    messageId: postId,
    body: { kind: "file", text: "", file: mail.file },
    headers: [...(mail.headers ?? []), ["Chat-Is-Post-Message", "1"]],
  });
  const pre = await userMail({
    ...mail,
    body: { kind: "text", text: mail.text },
    headers: [...(mail.headers ?? []), ["Chat-Post-Message-ID", postId], ["Chat-Post-Message-Metadata", metadata]],
  });
  return { pre: pre.raw, post: post.raw, preId: pre.messageId, postId };
}
