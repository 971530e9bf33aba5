// Turning whatever a failed request threw into the one error the bot sees: a short message with a
// stable code, never a host stack, path or the resolved IP of a name. The original stays as `cause`
// for the host's own log.

import { ChatbotError } from "../../core/errors.js";

// Short, bot-facing descriptions of the network errors node and undici report by code.
const DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze({
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed while sending",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed by the server",
  UND_ERR_HEADERS_OVERFLOW: "response headers too large",
  UND_ERR_HEADERS_TIMEOUT: "no response headers in time",
  UND_ERR_BODY_TIMEOUT: "response body stalled",
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: "response shorter than its Content-Length",
  ERR_TLS_CERT_ALTNAME_INVALID: "TLS certificate does not match the host name",
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "TLS certificate is not trusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS certificate is not trusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "TLS certificate is not trusted",
  CERT_HAS_EXPIRED: "TLS certificate has expired",
});

/** The ChatbotError a failed fetch becomes: a refusal in the cause chain, the deadline's reason, or E_FETCH_FAILED. */
export function toFetchError(error: unknown, deadline: AbortSignal, origin: string): ChatbotError {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    if (current instanceof ChatbotError) return current;
  }
  if (deadline.aborted && deadline.reason instanceof ChatbotError) return deadline.reason;
  const code = (error as { code?: unknown } | null)?.code;
  const what =
    typeof code === "string"
      ? (DESCRIPTIONS[code] ?? (code.startsWith("HPE_") ? "malformed HTTP response" : `network error (${code.slice(0, 40)})`))
      : "network error";
  return new ChatbotError("E_FETCH_FAILED", `fetch from ${origin} failed: ${what}`, { cause: error });
}
