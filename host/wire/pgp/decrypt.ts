// Incoming public-key decryption (PROTOCOL §2). The message's shape is checked on the raw packets
// before openpgp.js sees it, and a bad or missing signature is a result, not an error: the caller
// decides what an unsigned message may do.
import * as openpgp from "openpgp";
import { ChatbotError } from "../../../core/errors.js";
import { MESSAGE_SIGNATURES_MAX, ONE_PKESK_AT_A_TIME_MAX_BYTES, OPENED_SESSION_KEYS_MAX, SESSION_KEY_PACKETS_MAX } from "../../../core/limits.js";
import { dearmorMessage } from "./armor.js";
import { fingerprintOf } from "./autocrypt.js";
import type { BotIdentity } from "./identity.js";
import { nativeDecryptAndVerify } from "./native-decrypt.js";
import { nativeSessionKey, type SessionKey } from "./native-session-key.js";
import { isEncryptedMessageShape, type PacketFrame, readPacketFrames } from "./packets.js";

/** A decrypted message. */
export interface Decrypted {
  /** The literal data: the inner MIME entity. */
  inner: Uint8Array;
  /** Primary fingerprint of a key in verificationKeys whose PRIMARY key made a valid signature. */
  signerFingerprint: string | undefined;
  /**
   * Creation time of that signature, ms since the epoch: a time the sender's key signs (inbound's
   * replay check). openpgp.js refuses a signature created after its clock's now, so it is never
   * later than the moment of verifying. Undefined with no valid signature, or a signature without one.
   */
  signedAt: number | undefined;
}

/**
 * The binary `armored` message after checking its shape; E_MAIL_TOO_LARGE over `maxBytes` (before
 * parsing), E_PGP_MALFORMED unless it is exactly (PKESK|SKESK)* + one SEIPD, with at most
 * SESSION_KEY_PACKETS_MAX session key packets.
 */
export async function encryptedMessageBytes(armored: string, maxBytes: number): Promise<Uint8Array> {
  return (await encryptedMessage(armored, maxBytes)).binary;
}

/** encryptedMessageBytes with the message's top-level packet frames. */
async function encryptedMessage(armored: string, maxBytes: number): Promise<{ binary: Uint8Array; frames: PacketFrame[] }> {
  const binary = await dearmorMessage(armored, maxBytes);
  const frames = readPacketFrames(binary, { legacyFormat: true });
  if (frames === undefined || !isEncryptedMessageShape(frames)) {
    throw new ChatbotError("E_PGP_MALFORMED", "The OpenPGP message is not (PKESK|SKESK)* followed by one SEIPD packet.");
  }
  // Counted on the raw frames, before openpgp.js parses a packet (frames ends with the SEIPD).
  if (frames.length - 1 > SESSION_KEY_PACKETS_MAX) {
    throw new ChatbotError(
      "E_PGP_MALFORMED",
      `The OpenPGP message has ${frames.length - 1} session key packets; at most ${SESSION_KEY_PACKETS_MAX} are tried (SESSION_KEY_PACKETS_MAX).`,
    );
  }
  return { binary, frames };
}

/** The first signature made by the primary key of one of `keys` that verifies: that key's fingerprint and the signature's creation time. */
async function verifiedSigner(
  signatures: readonly { keyID: openpgp.KeyID; verified: Promise<unknown>; signature: Promise<openpgp.Signature> }[],
  keys: readonly openpgp.PublicKey[],
): Promise<{ fingerprint: string; signedAt: number | undefined } | undefined> {
  for (const signature of signatures) {
    // Core checks signatures against the primary key only (PROTOCOL §0.4): a subkey signature does not count.
    const key = keys.find((candidate) => candidate.getKeyID().equals(signature.keyID));
    if (key === undefined) continue;
    try {
      if ((await signature.verified) !== true) continue;
      // The creation time is a hashed subpacket (RFC 9580 §5.2.3.11), covered by the signature just verified.
      const created = (await signature.signature).packets[0]?.created;
      return { fingerprint: fingerprintOf(key), signedAt: created ? created.getTime() : undefined };
    } catch {
      // Invalid signature: try the next one.
    }
  }
  return undefined;
}

/**
 * openpgp.decrypt with the bot's key, on the message cut down to one PKESK (and the SEIPD) at a
 * time, last first, until one opens it. Real cores hide their recipients (every PKESK names the
 * wildcard key ID 0), and openpgp.js alone tries the bot's key on every PKESK of the message — one
 * X25519 agreement with its key imports each (~1.5 ms of CPU), one per recipient. Core 2.57 writes
 * the sender's own PKESK first, so last first opens a 1:1 mail on the first try; never more tries
 * than openpgp.js makes. Each try is openpgp.decrypt itself (the same checks); after a failed one
 * the next reads the message again, as openpgp.js may have consumed the SEIPD. Only for a message
 * of at most ONE_PKESK_AT_A_TIME_MAX_BYTES: each read again is a pass over its bytes, so a larger one
 * (a file) goes to openpgp.js whole, once, as before.
 */
async function decryptOnePkeskAtATime({ message, binary, bot, verificationKeys, limits }: OpenpgpReading): Promise<Decryption> {
  const tags = openpgp.enums.packet;
  const count = message.packets.filterByTag(tags.publicKeyEncryptedSessionKey).length;
  let failure: unknown = new Error("No public key encrypted session key packet found.");
  let current = message;
  for (let i = count - 1; i >= 0; i--) {
    if (i < count - 1) current = await openpgp.readMessage({ binaryMessage: binary });
    const one = new openpgp.PacketList<openpgp.AnyPacket>();
    one.push(current.packets.filterByTag(tags.publicKeyEncryptedSessionKey)[i]!, ...current.packets.filterByTag(tags.symEncryptedIntegrityProtectedData));
    try {
      return await decryptWithBotKey(new openpgp.Message(one), bot, verificationKeys, limits);
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

type Decryption = Awaited<ReturnType<typeof openpgp.decrypt<Uint8Array>>>;

/** What openpgp.js's reading of one message works with: the parsed message, its bytes (to read again), the keys, the mail limit. */
interface OpenpgpReading {
  message: openpgp.Message<Uint8Array>;
  binary: Uint8Array;
  bot: BotIdentity;
  verificationKeys: openpgp.PublicKey[];
  limits: { maxBytes: number };
}

/**
 * A large message (over ONE_PKESK_AT_A_TIME_MAX_BYTES) by openpgp.js: the session keys the bot's key
 * opens first, then one decryption with them. openpgp.decrypt alone would try each opened key on the
 * whole message, and a sender can write any number to the bot's key (each with another session key);
 * a genuine mail has one, so more than OPENED_SESSION_KEYS_MAX distinct ones are refused, as the
 * native reader refuses them (native-decrypt.ts). This path serves the mail that reader leaves to
 * openpgp.js: SEIPD v2 with v6 PKESKs, a bot key of another kind.
 */
async function decryptWithOpenedKeys({ message, binary, bot, verificationKeys, limits }: OpenpgpReading): Promise<Decryption> {
  const sessionKeys = await openpgp.decryptSessionKeys({ message, decryptionKeys: bot.privateKey });
  if (sessionKeys.length > OPENED_SESSION_KEYS_MAX) {
    throw new ChatbotError(
      "E_PGP_DECRYPT",
      `The OpenPGP message was not decrypted: more than ${OPENED_SESSION_KEYS_MAX} session key packets open with the bot's key (OPENED_SESSION_KEYS_MAX); a sender writes one.`,
    );
  }
  // A SEIPD v2 key has algorithm null (the packet names it); openpgp.decrypt passes its own opened keys on the same way.
  return decryptWithBotKey(await openpgp.readMessage({ binaryMessage: binary }), bot, verificationKeys, limits, sessionKeys as openpgp.SessionKey[]);
}

/**
 * openpgp.decrypt of `message` with the bot's key, or with session keys already opened: binary,
 * signatures checked but not required. openpgp.js checks every signature by a key it is given, each
 * a hash of the whole literal, so it decrypts with no keys first (a signature it has no key for is
 * not hashed), refuses more than MESSAGE_SIGNATURES_MAX, and then checks the rest over the data, as
 * detached signatures: the same hashes (a one-pass packet names its signature's kind, hash and key,
 * and covers nothing itself).
 */
async function decryptWithBotKey(
  message: openpgp.Message<Uint8Array>,
  bot: BotIdentity,
  verificationKeys: openpgp.PublicKey[],
  limits: { maxBytes: number },
  sessionKey?: SessionKey | openpgp.SessionKey[],
): Promise<Decryption> {
  const unchecked = await openpgp.decrypt({
    message,
    ...(sessionKey ? { sessionKeys: sessionKey } : { decryptionKeys: bot.privateKey }),
    verificationKeys: [],
    expectSigned: false,
    format: "binary",
    // A compressed inner part may not expand past the mail limit (a zip bomb).
    config: { maxDecompressedMessageSize: limits.maxBytes },
  });
  if (unchecked.signatures.length > MESSAGE_SIGNATURES_MAX) {
    throw new ChatbotError(
      "E_PGP_DECRYPT",
      `The OpenPGP message was not decrypted: it carries more than ${MESSAGE_SIGNATURES_MAX} signatures (MESSAGE_SIGNATURES_MAX); a sender writes one.`,
    );
  }
  const byKnownKey = unchecked.signatures.some((signature) => verificationKeys.some((key) => key.getKeyIDs().some((id) => id.equals(signature.keyID))));
  if (!byKnownKey) return unchecked;
  const packets = new openpgp.PacketList<openpgp.SignaturePacket>();
  for (const signature of unchecked.signatures) packets.push(...(await signature.signature).packets);
  const checked = await openpgp.verify({
    message: await openpgp.createMessage({ binary: unchecked.data }),
    signature: new openpgp.Signature(packets),
    verificationKeys,
    expectSigned: false,
    format: "binary",
  });
  return { ...unchecked, signatures: checked.signatures };
}

/**
 * Decrypt `armored` with the bot's key and check its signatures against `verificationKeys`.
 * E_MAIL_TOO_LARGE over `limits.maxBytes` (before parsing); E_PGP_MALFORMED for any other shape than
 * (PKESK|SKESK)* + one SEIPD; E_PGP_DECRYPT when the bot's key does not open it. A bad, unknown or
 * missing signature gives `signerFingerprint: undefined`, never an error.
 */
export async function decryptAndVerify(
  armored: string,
  bot: BotIdentity,
  verificationKeys: openpgp.PublicKey[],
  limits: { maxBytes: number },
): Promise<Decrypted> {
  const { binary, frames } = await encryptedMessage(armored, limits.maxBytes);
  // The mail cores send, decrypted and checked with node:crypto (native-decrypt.ts); anything it is
  // not sure of — another shape, key kind or signature, a failed check — is openpgp.js's, as before.
  // An exception there would be a bug of ours, never the mail's fault: openpgp.js decides then too,
  // so such a bug costs speed, not a mail wrongly refused.
  const native = await nativeDecryptAndVerify(binary, frames, bot, verificationKeys, limits).catch(() => undefined);
  if (native?.kind === "read") return native.result;
  if (native?.kind === "refused") throw new ChatbotError("E_PGP_DECRYPT", `The OpenPGP message was not decrypted: ${native.why}.`);
  return withOpenpgpJs(binary, bot, verificationKeys, limits, native?.sessionKey);
}

/**
 * decryptAndVerify by openpgp.js alone (the session key still opened with node:crypto when it can):
 * what it does for any mail native-decrypt.ts is not sure of, and the reference its tests compare
 * it with (test/host/wire/pgp/native-decrypt.test.ts).
 */
export async function decryptAndVerifyWithOpenpgpJs(
  armored: string,
  bot: BotIdentity,
  verificationKeys: openpgp.PublicKey[],
  limits: { maxBytes: number },
): Promise<Decrypted> {
  return withOpenpgpJs((await encryptedMessage(armored, limits.maxBytes)).binary, bot, verificationKeys, limits);
}

/**
 * openpgp.js's reading of `binary`. With `opened` (the session key native-decrypt.ts found the SEIPD
 * opens with) it decrypts with that key only; without, it tries the bot's key on the PKESKs itself.
 */
async function withOpenpgpJs(
  binary: Uint8Array,
  bot: BotIdentity,
  verificationKeys: openpgp.PublicKey[],
  limits: { maxBytes: number },
  opened?: SessionKey,
): Promise<Decrypted> {
  let message: openpgp.Message<Uint8Array>;
  try {
    message = await openpgp.readMessage({ binaryMessage: binary });
  } catch (error) {
    throw new ChatbotError("E_PGP_MALFORMED", "The OpenPGP message could not be parsed.", { cause: error });
  }
  if (opened) {
    let result: Decryption;
    try {
      result = await decryptWithBotKey(message, bot, verificationKeys, limits, opened);
    } catch (error) {
      throw new ChatbotError("E_PGP_DECRYPT", "The OpenPGP message could not be decrypted with the bot's key.", { cause: error });
    }
    const signer = await verifiedSigner(result.signatures, verificationKeys);
    return { inner: result.data, signerFingerprint: signer?.fingerprint, signedAt: signer?.signedAt };
  }
  let result: Decryption | undefined;
  // The session key opened with node:crypto (native-session-key.ts); if it is not there or does
  // not open the SEIPD (a sender may write a PKESK for the bot with another key in it), openpgp.js
  // tries every PKESK as before.
  const sessionKey = await nativeSessionKey(message, bot);
  if (sessionKey) {
    result = await decryptWithBotKey(message, bot, verificationKeys, limits, sessionKey).catch(() => undefined);
    if (!result) message = await openpgp.readMessage({ binaryMessage: binary });
  }
  try {
    result ??=
      binary.byteLength <= ONE_PKESK_AT_A_TIME_MAX_BYTES
        ? await decryptOnePkeskAtATime({ message, binary, bot, verificationKeys, limits })
        : await decryptWithOpenedKeys({ message, binary, bot, verificationKeys, limits });
  } catch (error) {
    if (error instanceof ChatbotError) throw error;
    throw new ChatbotError("E_PGP_DECRYPT", "The OpenPGP message could not be decrypted with the bot's key.", { cause: error });
  }
  const signer = await verifiedSigner(result.signatures, verificationKeys);
  return { inner: result.data, signerFingerprint: signer?.fingerprint, signedAt: signer?.signedAt };
}
