// ASCII armor for PGP MESSAGE blocks (RFC 9580 §6.2), in the exact bytes the relay accepts.
// PROTOCOL §0.1: filtermail cuts everything after the LAST "=" as "the CRC" and then decodes strictly,
// so a block without the "=XXXX" line is rejected whenever its base64 ends in padding. openpgp.js
// omits that line for SEIPDv2 messages; we always ask for it. §0.2: CRLF lines, no Comment/Version.
import * as openpgp from "openpgp";
import { ChatbotError } from "../../../core/errors.js";

const ARMOR_CONFIG: Readonly<openpgp.Config> = Object.freeze({ ...openpgp.config, showComment: false, showVersion: false });

/** Armor a binary OpenPGP message: always with the CRC24 line, no headers, CRLF line endings. */
export function armorMessage(binary: Uint8Array): string {
  const text = openpgp.armor(openpgp.enums.armor.message, binary, undefined, undefined, undefined, true, ARMOR_CONFIG);
  return text.replace(/\r?\n/g, "\r\n");
}

/**
 * The binary message inside an armored PGP MESSAGE block. Refuses input over `maxBytes` (UTF-8)
 * before looking at it (E_MAIL_TOO_LARGE) and anything that is not one PGP MESSAGE (E_PGP_MALFORMED).
 */
export async function dearmorMessage(armored: string, maxBytes: number): Promise<Uint8Array> {
  if (Buffer.byteLength(armored, "utf8") > maxBytes) {
    throw new ChatbotError("E_MAIL_TOO_LARGE", `The OpenPGP message is larger than ${maxBytes} bytes; it was not read.`);
  }
  let result: Awaited<ReturnType<typeof openpgp.unarmor>>;
  try {
    result = await openpgp.unarmor(armored);
  } catch (error) {
    throw new ChatbotError("E_PGP_MALFORMED", "The OpenPGP armor could not be read.", { cause: error });
  }
  if (result.type !== openpgp.enums.armor.message || !(result.data instanceof Uint8Array)) {
    throw new ChatbotError("E_PGP_MALFORMED", "The armored block is not a PGP MESSAGE.");
  }
  return result.data;
}
