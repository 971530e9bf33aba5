// One error class with stable codes (STYLE principle 4). The code says who must act;
// callers (CLI exit codes, the spool's retry/drop decision) read only `code` and `who`.
// A new code also needs its row in host/service/failure-class.ts (retry or settle); the compiler
// refuses the build until it has one.

/** Who has to do something about an error. */
export type ErrorOwner = "author" | "sender" | "operator" | "retry" | "user";

const OWNERS = {
  // The bot author must fix the bot, its manifest or its build.
  E_MANIFEST: "author",
  E_BUILD: "author",
  E_BUNDLE: "author",
  // A deploy message (chatbot deploy) that is malformed, tampered with or over a cap.
  E_DEPLOY: "author",
  // An install over one of the relay's quotas for unattended bots (host.json quotas: bots on the
  // host, a bot's disk, deploys a day): the author deploys less or later, or asks the operator.
  E_QUOTA: "author",
  // Whoever typed a command line must fix it.
  E_USAGE: "user",
  E_NOT_FOUND: "user",
  // The sender of bad input (mail) cannot make it succeed by retrying.
  E_MAIL_TOO_LARGE: "sender",
  E_MAIL_MALFORMED: "sender",
  // A mail file an author's tool was given that a relay would drop without running the bot (an
  // automatic response, a SecureJoin step, a group change, a deletion): only `chatbot run` and the
  // other local tools throw it (the relay logs such a drop with its reason).
  E_MAIL_DROPPED: "sender",
  // OpenPGP: a message that is not (PKESK|SKESK)* + one SEIPD, or that no key/password opens;
  // a recipient's key the bot cannot encrypt to (expired, revoked, no encryption subkey).
  E_PGP_MALFORMED: "sender",
  E_PGP_DECRYPT: "sender",
  E_PGP_ENCRYPT: "sender",
  // Outgoing mail the host cannot compose from what it was given (a bad header name, a MIME type
  // that is not type/subtype, armored text that is not CRLF): the caller passed bad data.
  E_MAIL_COMPOSE: "author",
  // Fetch refusals are the author's (an origin not allowed) or the remote's.
  E_FETCH_ORIGIN: "author",
  E_FETCH_ADDRESS: "author",
  E_FETCH_SCHEME: "author",
  E_FETCH_FAILED: "retry",
  E_FETCH_TIMEOUT: "retry",
  E_FETCH_TOO_LARGE: "author",
  // A request the bot built wrongly (method, header, body with GET, credentials in the URL).
  E_FETCH_REQUEST: "author",
  // The operator's host is misconfigured or broken.
  E_CONFIG: "operator",
  // The sandbox runner crashed while the bot's event ran (its heap exhausted outside the QuickJS
  // cap, the process killed): the bot's code drove it there. The service retries it once, in case
  // it was the host's, then dead-letters it (host/service/failure-class.ts).
  E_RUNNER: "author",
  // The sandbox could not take the event (the executor is closed, a runner did not start): the
  // bot's code never ran, so it is not the bot's failure.
  E_RUNNER_UNAVAILABLE: "retry",
  // The host composed a mail the relay's filtermail would refuse ("523 Encryption Needed"): a bug
  // in the host, never sent; the operator reports it. Retrying composes the same mail.
  E_FILTERMAIL_CHECK: "operator",
  // IMAP: the server could not be reached or failed a command (retry later); the account's
  // password was refused (whoever gave the password must fix it).
  E_IMAP: "retry",
  E_IMAP_AUTH: "user",
  // A bot's state copy in its account (ChatbotState) that does not check out (sha256, shape):
  // the host skips it; the operator looks at the account if no copy is readable.
  E_STATE_MIRROR: "operator",
} as const satisfies Record<string, ErrorOwner>;

export type ErrorCode = keyof typeof OWNERS;

/** True when `code` is one of the project's error codes (a code that came over a channel, as text). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(OWNERS, code);
}

/** The project's error: `code` is stable and machine-read, `message` tells a person what to do next. */
export class ChatbotError extends Error {
  readonly code: ErrorCode;
  readonly who: ErrorOwner;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ChatbotError";
    this.code = code;
    this.who = OWNERS[code];
  }
}

/** True for a ChatbotError (optionally with the given code). */
export function isChatbotError(value: unknown, code?: ErrorCode): value is ChatbotError {
  return value instanceof ChatbotError && (code === undefined || value.code === code);
}

/** An error's message (a thrown non-Error as text): for log lines and wrapped errors. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error as one line for an operator: a ChatbotError with its code first, else its message. */
export function describeError(error: unknown): string {
  return isChatbotError(error) ? `${error.code}: ${error.message}` : errorMessage(error);
}

/** What a guest is told of a failure on the host: a ChatbotError's own code and message; anything else is E_HOST, without host details. */
export function guestFacingError(error: unknown): { code: string; message: string } {
  if (isChatbotError(error)) return { code: error.code, message: error.message };
  return { code: "E_HOST", message: "the host could not complete this call" };
}
