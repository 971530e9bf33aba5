// The one unencrypted mail a bot accepts: the legacy SecureJoin request (PROTOCOL §4, "Legacy flow").
// It is accepted in exactly the shape filtermail lets through unencrypted (filtermail
// message.rs is_securejoin), read byte-exactly so a nested or extra part cannot hide behind
// a tolerant parser.
import { MAIL_MAX_BYTES } from "../../../core/limits.js";
import { ChatbotError } from "../../../core/errors.js";
import { bareAddress, binaryString, contentType, decodeTransfer, singleHeader, splitEntity, splitMultipart } from "./mime-entity.js";

/** A legacy vc-request/vg-request: who asks, with which invite number and (optionally) their key. */
export interface PlainSecureJoinRequest {
  from: string;
  step: "vc-request" | "vg-request";
  invitenumber: string;
  /** The raw unfolded Autocrypt value, only when given once and its addr= equals From. */
  autocrypt?: string;
}

function isStep(value: string | undefined): value is PlainSecureJoinRequest["step"] {
  return value === "vc-request" || value === "vg-request";
}

// Autocrypt Level 1 §2.3: a header whose addr does not match From is ignored.
function autocryptFor(values: string[] | undefined, from: string): string | undefined {
  if (values?.length !== 1) return undefined;
  const addr = /(?:^|;)\s*addr=([^;\s]+)/i.exec(values[0]!)?.[1];
  return addr?.toLowerCase() === from ? values[0] : undefined;
}

/**
 * The legacy SecureJoin request in `raw`, or undefined when the mail is not exactly one: header
 * `Secure-Join: vc-request|vg-request`, a multipart with one text/plain leaf whose trimmed,
 * lowercased body is "secure-join: <same step>", a From address and a Secure-Join-Invitenumber.
 */
export async function parsePlainSecureJoinRequest(raw: Uint8Array): Promise<PlainSecureJoinRequest | undefined> {
  if (raw.byteLength > MAIL_MAX_BYTES) {
    throw new ChatbotError("E_MAIL_TOO_LARGE", `mail is ${raw.byteLength} bytes, over the limit of ${MAIL_MAX_BYTES} bytes`);
  }
  const entity = splitEntity(binaryString(raw));
  const step = singleHeader(entity.headers, "secure-join");
  if (!isStep(step)) return undefined;
  const from = bareAddress(singleHeader(entity.headers, "from"));
  const invitenumber = singleHeader(entity.headers, "secure-join-invitenumber");
  if (!from || !invitenumber) return undefined;

  const type = contentType(entity.headers);
  if (!type?.value.startsWith("multipart/")) return undefined;
  const parts = splitMultipart(entity.body, type.params.get("boundary") ?? "");
  if (parts?.length !== 1) return undefined;
  const part = splitEntity(parts[0]!);
  if (contentType(part.headers)?.value !== "text/plain") return undefined;
  const body = decodeTransfer(part.body, singleHeader(part.headers, "content-transfer-encoding"));
  if (body?.toString("utf8").trim().toLowerCase() !== `secure-join: ${step}`) return undefined;

  const autocrypt = autocryptFor(entity.headers.get("autocrypt"), from);
  return autocrypt === undefined ? { from, step, invitenumber } : { from, step, invitenumber, autocrypt };
}
