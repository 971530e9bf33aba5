// Which failed attempts of a spool entry are worth another try: ONE table, read by
// retry-policy.ts decideRetry() and nothing else (STYLE principle 4). A failure is named by its
// codes only — a ChatbotError's `code`, nodemailer's SMTP `responseCode` and `code`, Node's errno
// `code` — never by its message. Pure: no I/O.
//
// The rule behind every row: settle (dead-letter now, with the reason) when trying the same entry
// again cannot succeed unless someone changes the bot or the mail; retry with backoff when the fix
// is in the environment (network, relay, disk, the operator's configuration), so the mail goes out
// once it is fixed; after the host's maxAttempts it is dead-lettered all the same.
import { isChatbotError, type ErrorCode } from "../../core/errors.js";

/** What the spool does after a failed attempt. */
export type FailureAction =
  /** Back off (backoffMs) and try again, up to the host's `maxAttempts`; then dead-letter. */
  | "retry"
  /** Dead-letter now: the same entry would fail the same way. */
  | "settle"
  /** One more try (the host may have been at fault), then dead-letter. */
  | "retry-once";

/** An SMTP failure, from nodemailer's `responseCode` (the server's reply) or its `code` (no reply). */
export type SmtpFailureKind = "SMTP_4XX" | "SMTP_503" | "SMTP_AUTH" | "SMTP_5XX" | "SMTP_CONNECTION" | "SMTP_ENVELOPE";

/** The stable name of a failure: the code in `spool.retry` / `spool.dead` log lines and in dead letters. */
export type FailureKind = ErrorCode | SmtpFailureKind | "NETWORK" | "FS" | "UNKNOWN";

/** What to do with a kind of failure, and why (for the README and the log). */
export interface FailureRule {
  action: FailureAction;
  why: string;
}

const SAME_AGAIN = "the installed bot must be fixed and deployed again; this mail fails the same way until then";
const SENDER = "the sender's mail can never succeed";
const FETCH_REFUSED = "a fetch refusal the bot gets again (answered to the bot inside its event; listed for completeness)";

/** The table. `satisfies Record<FailureKind, …>`: a new code in core/errors.ts does not compile without its row. */
export const FAILURE_TABLE = {
  // Our own errors, by code (core/errors.ts).
  E_MANIFEST: { action: "settle", why: SAME_AGAIN },
  E_BUILD: { action: "settle", why: SAME_AGAIN },
  E_BUNDLE: { action: "settle", why: SAME_AGAIN },
  E_DEPLOY: { action: "settle", why: SAME_AGAIN },
  E_QUOTA: { action: "settle", why: "a relay quota refused an install; nothing retries it, the author deploys again" },
  E_USAGE: { action: "settle", why: "a call the host made wrongly fails the same way again" },
  E_NOT_FOUND: { action: "retry", why: "a missing file the operator can restore; the mail is fine" },
  E_MAIL_TOO_LARGE: { action: "settle", why: SENDER },
  E_MAIL_MALFORMED: { action: "settle", why: SENDER },
  E_MAIL_DROPPED: { action: "settle", why: SENDER },
  E_PGP_MALFORMED: { action: "settle", why: SENDER },
  E_PGP_DECRYPT: { action: "settle", why: SENDER },
  E_PGP_ENCRYPT: {
    action: "settle",
    why: "the recipient's key cannot be encrypted to (expired, revoked, no encryption subkey); encrypting again fails the same way",
  },
  E_MAIL_COMPOSE: { action: "settle", why: "the host cannot compose this mail from what it was given; it would compose the same one again" },
  E_FILTERMAIL_CHECK: {
    action: "settle",
    why: 'the host composed a mail the relay would refuse ("523 Encryption Needed"); composing again gives the same mail',
  },
  E_FETCH_ORIGIN: { action: "settle", why: FETCH_REFUSED },
  E_FETCH_ADDRESS: { action: "settle", why: FETCH_REFUSED },
  E_FETCH_SCHEME: { action: "settle", why: FETCH_REFUSED },
  E_FETCH_TOO_LARGE: { action: "settle", why: FETCH_REFUSED },
  E_FETCH_REQUEST: { action: "settle", why: FETCH_REFUSED },
  E_FETCH_FAILED: { action: "retry", why: "the remote may answer later" },
  E_FETCH_TIMEOUT: { action: "retry", why: "the remote may answer later" },
  E_CONFIG: { action: "retry", why: "the operator fixes the host's configuration or the bot's key; the mail is fine" },
  E_RUNNER: { action: "retry-once", why: "the sandbox runner crashed on the bot's event: the bot's failure, tried once more in case the host was at fault" },
  E_RUNNER_UNAVAILABLE: { action: "retry", why: "the sandbox could not take the event (closed, a runner did not start); the bot's code did not run" },
  E_IMAP: { action: "retry", why: "the relay's IMAP server may answer later" },
  E_IMAP_AUTH: { action: "retry", why: "the relay refused the bot's password, not the mail; the operator installs the right one" },
  E_STATE_MIRROR: { action: "retry", why: "the operator looks at the bot's account; the mail is fine" },
  // SMTP (nodemailer). A reply decides by its class (RFC 5321 §4.2.1: 4yz transient, 5yz permanent).
  SMTP_4XX: {
    action: "retry",
    why: "a transient reply: chatmail's 450 4.7.1 send-rate limit, 451 local error, 421 busy, 454 temporary authentication failure",
  },
  SMTP_503: { action: "retry", why: "bad sequence of commands: the session's state, not the mail (as nodemailer's isPermanentResponseCode says)" },
  SMTP_AUTH: {
    action: "retry",
    why: "the relay refused the bot's login (535 5.7.8), not the mail: once the operator installs the right password (host install --password-file) it goes out",
  },
  SMTP_5XX: {
    action: "settle",
    why: "a permanent reply to this mail: chatmail's 523 Encryption Needed, 500 Invalid FROM, 552 too large, 553 5.7.1 sender not owned, 554 malformed; sending it again gets the same answer",
  },
  SMTP_CONNECTION: { action: "retry", why: "no answer from the relay (connection refused or closed, timeout, TLS, DNS, a garbled reply)" },
  SMTP_ENVELOPE: { action: "settle", why: "nodemailer refused the envelope before sending it (no recipient, an invalid address)" },
  // Node's own errors.
  NETWORK: { action: "retry", why: "a socket error (refused, reset, unreachable, DNS); the network may come back" },
  FS: { action: "retry", why: "the host's disk (full, I/O error, too many open files, a permission the operator fixes); the mail is fine" },
  // Anything else. Most likely the host's own (a bug, a condition no row names): retrying loses
  // nothing and is bounded by maxAttempts, while settling would drop mail on every transient failure
  // not foreseen here. The log says UNKNOWN, so it can get a row.
  UNKNOWN: { action: "retry", why: "an error the host cannot name: retried like a temporary one, up to maxAttempts" },
} as const satisfies Record<FailureKind, FailureRule>;

/** First replies to AUTH that refuse the login itself (RFC 4954 §6: 530, 534, 535, 538). */
const AUTH_REPLIES: ReadonlySet<number> = new Set([530, 534, 535, 538]);

/** `code` values without an SMTP reply: nodemailer's (its ERROR_CODES) and Node's errno. */
const CODE_KINDS: ReadonlyMap<string, FailureKind> = new Map<string, FailureKind>([
  ...["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "ETLS", "EPROXY", "EPROTOCOL", "EMAXLIMIT"].map((code) => [code, "SMTP_CONNECTION"] as const),
  ...["EAUTH", "ENOAUTH"].map((code) => [code, "SMTP_AUTH"] as const),
  ["EENVELOPE", "SMTP_ENVELOPE"],
  ...["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "ENOTFOUND", "EAI_AGAIN"].map(
    (code) => [code, "NETWORK"] as const,
  ),
  ...[
    "ENOSPC",
    "EDQUOT",
    "EIO",
    "EMFILE",
    "ENFILE",
    "EAGAIN",
    "EBUSY",
    "ENOMEM",
    "EACCES",
    "EPERM",
    "EROFS",
    "ENOENT",
    "ENOTDIR",
    "EISDIR",
    "ENOTEMPTY",
    "EEXIST",
    "EXDEV",
    "ESTALE",
  ].map((code) => [code, "FS"] as const),
]);

/** An own property of `error` (codes are own properties on nodemailer's and Node's errors). */
function own(error: unknown, name: string): unknown {
  return typeof error === "object" && error !== null && Object.hasOwn(error, name) ? (error as Record<string, unknown>)[name] : undefined;
}

/** The stable name of a failure, read from its codes only. */
export function failureKind(error: unknown): FailureKind {
  if (isChatbotError(error)) return error.code;
  const code = own(error, "code");
  const reply = own(error, "responseCode");
  if (typeof reply === "number") {
    if (code === "EAUTH" || AUTH_REPLIES.has(reply)) return "SMTP_AUTH";
    if (reply === 503) return "SMTP_503";
    if (reply >= 400 && reply < 500) return "SMTP_4XX";
    if (reply >= 500 && reply < 600) return "SMTP_5XX";
  }
  return (typeof code === "string" ? CODE_KINDS.get(code) : undefined) ?? "UNKNOWN";
}

/** A failure's kind and the table's rule for it. */
export function classifyFailure(error: unknown): FailureRule & { kind: FailureKind } {
  const kind = failureKind(error);
  return { kind, ...FAILURE_TABLE[kind] };
}

/** How many attempts an entry gets when its latest one failed with `action` (`maxAttempts`: the host's setting). */
export function attemptsAllowed(action: FailureAction, maxAttempts: number): number {
  if (action === "settle") return 1;
  if (action === "retry-once") return Math.min(2, maxAttempts);
  return maxAttempts;
}

/** Why a dead letter was given up, with its stable code first: `[CODE] text`. */
export type DeadLetterCode = FailureKind | "BOT_NOT_INSTALLED" | "BOT_DISABLED" | "BOT_PAUSED";

/** The reason stored with a dead letter: its code in brackets, then what happened. */
export function deadLetterReason(code: DeadLetterCode, text: string): string {
  return `[${code}] ${text}`;
}
