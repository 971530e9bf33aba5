// Outgoing encryption (PROTOCOL §2): sign then encrypt in one pass (OnePassSig, Literal, Signature
// inside one SEIPD), to every recipient and to the bot itself, signed by the bot's PRIMARY key.
import * as openpgp from "openpgp";
import { ChatbotError } from "../../../core/errors.js";
import { armorMessage } from "./armor.js";
import { fingerprintOf } from "./autocrypt.js";
import type { BotIdentity } from "./identity.js";
import { nativeSignAndEncrypt } from "./native-encrypt.js";

/**
 * Sign `innerMime` with the bot's primary key and encrypt it to `recipients` and the bot; armored
 * with the CRC line. openpgp.js picks SEIPDv2 only when every key (the bot's included) advertises it,
 * else SEIPDv1. Keys of the kinds Delta Chat makes are written with node:crypto (native-encrypt.ts,
 * ~8× less CPU), any other by openpgp.js. E_PGP_ENCRYPT when a recipient key cannot be encrypted to.
 */
export async function signAndEncrypt(innerMime: string, recipients: openpgp.PublicKey[], bot: BotIdentity): Promise<string> {
  // The bot last, each key once: a recipient list that already holds the bot adds no second PKESK.
  const byFingerprint = new Map<string, openpgp.PublicKey>();
  for (const key of [...recipients, bot.publicKey]) byFingerprint.set(fingerprintOf(key), key);
  // Binary literal data, as core writes it: the MIME layer already produced CRLF lines.
  const data = new TextEncoder().encode(innerMime);
  const native = await nativeSignAndEncrypt(data, [...byFingerprint.values()], bot);
  if (native) return armorMessage(native);
  const message = await openpgp.createMessage({ binary: data });
  let binary: Uint8Array;
  try {
    binary = await openpgp.encrypt({
      message,
      encryptionKeys: [...byFingerprint.values()],
      signingKeys: bot.privateKey,
      signingKeyIDs: bot.privateKey.getKeyID(),
      format: "binary",
      config: { aeadProtect: false },
    });
  } catch (error) {
    throw new ChatbotError("E_PGP_ENCRYPT", "The message could not be encrypted to its recipients' keys.", { cause: error });
  }
  return armorMessage(binary);
}
