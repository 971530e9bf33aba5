// SecureJoin v3 symmetric messages (PROTOCOL §4, steps 1 and 2), protected by the password
// "securejoin/<inviter FPR>/<auth>". Core accepts only ONE SKESK with Salted S2K
// (core:src/decrypt.rs check_symmetric_encryption); openpgp.js cannot create that, so the SKESK is
// built by hand (§4 construction (b), VERIFIED against core 2.57.0) and openpgp.js makes the SEIPD.
import { createHash, randomBytes } from "node:crypto";
import * as openpgp from "openpgp";
import { ChatbotError } from "../../../core/errors.js";
import { armorMessage } from "./armor.js";
import { encryptedMessageBytes } from "./decrypt.js";
import type { BotIdentity } from "./identity.js";
import { PacketTag, type PacketFrame, readPacketFrames } from "./packets.js";

/** RFC 9580 §3.7.1: S2K specifier types. */
const S2K_SALTED = 1;
const AES128 = 7;
const SHA256 = 8;

/** The SecureJoin v3 password: "securejoin/<FPR UPPERCASE>/<auth>" (lowercase hex is rejected by core). */
export function secureJoinPassword(inviterFingerprint: string, auth: string): string {
  const fingerprint = inviterFingerprint.toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(fingerprint)) {
    throw new ChatbotError("E_CONFIG", `"${inviterFingerprint}" is not a 40-digit hex fingerprint.`);
  }
  return `securejoin/${fingerprint}/${auth}`;
}

/** The S2K type of a SKESK (v4: octet 2; v6: octet 5, after count, cipher, AEAD and S2K length). */
function skeskS2kType(binary: Uint8Array, frame: PacketFrame): number | undefined {
  if (frame.partial) return undefined;
  const body = binary.subarray(frame.bodyStart, frame.end);
  if (body[0] === 4) return body[2];
  if (body[0] === 6) return body[5];
  return undefined;
}

/**
 * Open a SecureJoin v3 message with the first of `passwords` that fits; undefined when none does.
 * The shape is checked FIRST, before any password is read: exactly one SKESK with Salted S2K and one
 * SEIPD, else E_PGP_MALFORMED — an iterated or argon2 S2K would let a sender make us run an
 * expensive derivation once per password. E_MAIL_TOO_LARGE over `limits.maxBytes` (before parsing).
 */
export async function decryptSymmetric(
  armored: string,
  passwords: readonly string[],
  limits: { maxBytes: number },
): Promise<{ inner: Uint8Array; password: string } | undefined> {
  const binary = await encryptedMessageBytes(armored, limits.maxBytes);
  const frames = readPacketFrames(binary, { legacyFormat: true }) ?? [];
  const skesk = frames[0];
  if (frames.length !== 2 || skesk?.tag !== PacketTag.SKESK) {
    throw new ChatbotError("E_PGP_MALFORMED", "A SecureJoin message must hold exactly one SKESK and one SEIPD packet.");
  }
  if (skeskS2kType(binary, skesk) !== S2K_SALTED) {
    throw new ChatbotError("E_PGP_MALFORMED", "A SecureJoin message's SKESK must use Salted S2K; it was not tried.");
  }
  for (const password of passwords) {
    try {
      const message = await openpgp.readMessage({ binaryMessage: binary });
      const result = await openpgp.decrypt({
        message,
        passwords: password,
        format: "binary",
        config: { maxDecompressedMessageSize: limits.maxBytes },
      });
      return { inner: result.data, password };
    } catch {
      // Wrong password (or damaged data): try the next one.
    }
  }
  return undefined;
}

/**
 * Sign `innerMime` with the bot's primary key and encrypt it with `password` the way core accepts:
 * v4 SKESK `C3 0C 04 07 01 08 <salt8>` (AES-128, Salted S2K, SHA-256, no encrypted session key, so
 * the session key is SHA256(salt ‖ password)[0..16]), followed by a SEIPDv1 made by openpgp.js from
 * that session key. Armored with the CRC line.
 */
export async function encryptSymmetricSigned(innerMime: string, password: string, bot: BotIdentity): Promise<string> {
  const salt = randomBytes(8);
  const sessionKey = createHash("sha256").update(salt).update(password, "utf8").digest().subarray(0, 16);
  const skesk = Buffer.concat([Buffer.from([0xc3, 0x0c, 0x04, AES128, S2K_SALTED, SHA256]), salt]);
  const message = await openpgp.createMessage({ binary: new TextEncoder().encode(innerMime) });
  const seipd = await openpgp.encrypt({
    message,
    sessionKey: { data: new Uint8Array(sessionKey), algorithm: "aes128" },
    signingKeys: bot.privateKey,
    signingKeyIDs: bot.privateKey.getKeyID(),
    format: "binary",
    config: { aeadProtect: false },
  });
  return armorMessage(new Uint8Array(Buffer.concat([skesk, seipd])));
}
