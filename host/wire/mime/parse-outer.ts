// The outer mail as it lies in the maildir: a few headers and, when it is what filtermail calls
// encrypted (PROTOCOL §1; RFC 3156 §4), the armored OpenPGP text of its second part. Everything
// the bot may trust is inside the encrypted part; the outer headers are for routing and logs, and
// for what older cores write only there (outer-fallbacks.ts: To and Autocrypt).
import { ChatbotError } from "../../../core/errors.js";
import { bareAddress, binaryString, contentType, decodeTransfer, singleHeader, splitEntity, splitMultipart, type Entity } from "./mime-entity.js";

/** The outer mail: raw headers and, when the mail has the encrypted shape, its armored payload. */
export interface OuterMail {
  /** Lowercased field name → unfolded values in order. */
  headers: Map<string, string[]>;
  /** Bare From address, lowercased. */
  from: string | undefined;
  messageId: string | undefined;
  encrypted: { armored: string } | undefined;
}

const ARMOR_BEGIN = "-----BEGIN PGP MESSAGE-----";

/** Parse the outer mail; refuses more than `maxBytes` before reading a byte of it. */
export function parseOuter(raw: Uint8Array, limits: { maxBytes: number }): OuterMail {
  if (raw.byteLength > limits.maxBytes) {
    throw new ChatbotError("E_MAIL_TOO_LARGE", `mail is ${raw.byteLength} bytes, over the limit of ${limits.maxBytes} bytes`);
  }
  const entity = splitEntity(binaryString(raw));
  const messageId = singleHeader(entity.headers, "message-id");
  return {
    headers: entity.headers,
    from: bareAddress(singleHeader(entity.headers, "from")),
    messageId: messageId === "" ? undefined : messageId,
    encrypted: encryptedPayload(entity),
  };
}

// filtermail's check_encrypted: multipart/encrypted with exactly two leaf parts, the first
// application/pgp-encrypted with body "Version: 1", the second application/octet-stream with the
// armored message. Anything else is not encrypted (and will be dropped or treated as plaintext).
function encryptedPayload(entity: Entity): { armored: string } | undefined {
  const type = contentType(entity.headers);
  if (type?.value !== "multipart/encrypted") return undefined;
  if (type.params.get("protocol")?.toLowerCase() !== "application/pgp-encrypted") return undefined;
  const parts = splitMultipart(entity.body, type.params.get("boundary") ?? "");
  if (parts?.length !== 2) return undefined;
  const control = splitEntity(parts[0]!);
  const payload = splitEntity(parts[1]!);
  if (contentType(control.headers)?.value !== "application/pgp-encrypted") return undefined;
  const version = decodeTransfer(control.body, singleHeader(control.headers, "content-transfer-encoding"));
  if (version?.toString("latin1").trim() !== "Version: 1") return undefined;
  if (contentType(payload.headers)?.value !== "application/octet-stream") return undefined;
  // Armor is 7-bit text (RFC 4880 §6.2); an encoded or non-ASCII payload is not what core sends.
  const encodings = payload.headers.get("content-transfer-encoding") ?? ["7bit"];
  if (encodings.length !== 1) return undefined;
  const encoding = encodings[0]!.toLowerCase();
  if (encoding !== "7bit" && encoding !== "8bit") return undefined;
  if (!payload.body.startsWith(ARMOR_BEGIN) || /[^\x00-\x7f]/.test(payload.body)) return undefined;
  return { armored: payload.body };
}
