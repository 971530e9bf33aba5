// The Autocrypt header (Autocrypt Level 1 §2.1) and the key it carries. Delta Chat puts it inside the
// encrypted part on every message (PROTOCOL §2); its keydata is the binary transferable public key.
import * as openpgp from "openpgp";
import { ChatbotError } from "../../../core/errors.js";
import { AUTOCRYPT_HEADER_MAX_CHARS } from "../../../core/limits.js";

/** A parsed Autocrypt header. */
export interface AutocryptHeader {
  /** The address the key belongs to, lowercased (Autocrypt compares addresses case-insensitively). */
  addr: string;
  keydata: Uint8Array;
  preferEncrypt: boolean;
}

/** The Autocrypt header VALUE for the bot, on one line (folding is the MIME layer's job). */
export function formatAutocryptHeader(addr: string, keydataBase64: string): string {
  return `addr=${addr}; prefer-encrypt=mutual; keydata=${keydataBase64}`;
}

/** Standard base64 with canonical padding, or undefined (no lenient decoding of key material). */
function strictBase64(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  return bytes.toString("base64") === text ? new Uint8Array(bytes) : undefined;
}

/**
 * Parse an Autocrypt header value; undefined when it must be ignored: `addr` or `keydata` missing,
 * an attribute twice, keydata not base64, or an unknown attribute without a leading "_" (critical,
 * Autocrypt Level 1 §2.1), or longer than AUTOCRYPT_HEADER_MAX_CHARS. Whitespace inside keydata
 * (header folding) is removed first.
 */
export function parseAutocryptHeader(value: string): AutocryptHeader | undefined {
  if (value.length > AUTOCRYPT_HEADER_MAX_CHARS) return undefined;
  const attributes = new Map<string, string>();
  for (const segment of value.split(";")) {
    if (segment.trim() === "") continue;
    const eq = segment.indexOf("=");
    if (eq < 0) return undefined;
    const name = segment.slice(0, eq).trim().toLowerCase();
    if (name.startsWith("_")) continue; // non-critical: ignore
    if (name !== "addr" && name !== "prefer-encrypt" && name !== "keydata") return undefined;
    if (attributes.has(name)) return undefined;
    attributes.set(name, segment.slice(eq + 1));
  }
  const addr = attributes.get("addr")?.trim().toLowerCase();
  const keydataText = attributes.get("keydata")?.replace(/\s+/g, "");
  if (!addr || keydataText === undefined) return undefined;
  const keydata = strictBase64(keydataText);
  if (keydata === undefined) return undefined;
  return { addr, keydata, preferEncrypt: attributes.get("prefer-encrypt")?.trim() === "mutual" };
}

/**
 * The public key in Autocrypt keydata (binary transferable public key). Throws E_PGP_MALFORMED when
 * it does not parse, its primary key has no valid self-signature (or is revoked/expired), or it has
 * no key to encrypt to.
 */
export async function publicKeyFromKeydata(keydata: Uint8Array): Promise<openpgp.PublicKey> {
  let key: openpgp.PublicKey;
  try {
    const parsed = await openpgp.readKey({ binaryKey: keydata });
    key = parsed.isPrivate() ? parsed.toPublic() : parsed;
  } catch (error) {
    throw new ChatbotError("E_PGP_MALFORMED", "The Autocrypt keydata is not an OpenPGP public key.", { cause: error });
  }
  try {
    await key.verifyPrimaryKey();
    await key.getEncryptionKey();
  } catch (error) {
    throw new ChatbotError("E_PGP_MALFORMED", "The Autocrypt key is not usable (invalid, revoked, expired or without encryption key).", {
      cause: error,
    });
  }
  return key;
}

/** The key's (primary) fingerprint in UPPERCASE hex, as Delta Chat shows and compares it. */
export function fingerprintOf(key: openpgp.PublicKey | openpgp.PrivateKey): string {
  return key.getFingerprint().toUpperCase();
}
