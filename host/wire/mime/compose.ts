// Composing Delta Chat 2.x messages byte by byte (PROTOCOL §2): the inner MIME entity that gets
// signed and encrypted, and the outer multipart/encrypted wrapper around the armored result.
// CRLF everywhere, header values folded/encoded, bodies 7bit when they can be and base64 otherwise.
import { randomBytes } from "node:crypto";
import { ChatbotError } from "../../../core/errors.js";
import { escapeChatText } from "./chat-text.js";
import {
  checkMessageId,
  checkMimeType,
  foldHeader,
  formatAddress,
  formatDate,
  formatParameter,
  LINE_MAX_BYTES,
  spreadKeydata,
  unstructured,
  type MailAddress,
} from "./header-format.js";

export type { MailAddress } from "./header-format.js";

/** What the inner message carries. */
export type InnerBody =
  | { kind: "text"; text: string }
  | { kind: "file"; text: string; file: { name: string; type: string; data: Uint8Array } }
  | { kind: "webxdc-status"; updates: unknown[] }
  | { kind: "reaction"; emoji: string };

/** Everything the inner (protected) entity states; `headers` are extra protected headers in order. */
export interface InnerMessage {
  from: MailAddress;
  to: MailAddress[];
  date: Date;
  /** With angle brackets. */
  messageId: string;
  subject: string;
  inReplyTo?: string;
  references?: string[];
  /** Chat-Version, Auto-Submitted, Autocrypt, Autocrypt-Gossip…, Secure-Join…, Chat-Group-…, Chat-Delete… */
  headers: Array<[string, string]>;
  body: InnerBody;
}

// Headers the composer writes itself; an extra header with one of these names would duplicate them.
const OWN_HEADERS = new Set([
  "from",
  "to",
  "date",
  "message-id",
  "subject",
  "in-reply-to",
  "references",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "content-disposition",
]);
const KEYDATA_HEADERS = new Set(["autocrypt", "autocrypt-gossip"]);
// core webxdc.rs BODY_DESCR: the text part of a status update.
const STATUS_UPDATE_TEXT = "Webxdc Status Update";
const ARMOR_BEGIN = "-----BEGIN PGP MESSAGE-----\r\n";
// RFC 2045 §6.8: base64 lines are at most 76 characters.
const BASE64_LINE_CHARS = 76;

// A leaf or multipart entity before its Content-Type is written: the root adds header protection
// to its Content-Type, every other entity writes it as it is.
interface Part {
  contentType: string;
  /** Structural headers after Content-Type (Content-Disposition, Content-Transfer-Encoding), folded, CRLF. */
  structural: string;
  body: string;
}

function composeError(message: string): ChatbotError {
  return new ChatbotError("E_MAIL_COMPOSE", message);
}

function base64Lines(data: Uint8Array): string {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += BASE64_LINE_CHARS) lines.push(text.slice(i, i + BASE64_LINE_CHARS));
  return lines.join("\r\n");
}

// 7bit when the text is ASCII without control characters and no line exceeds 998 bytes (RFC 2045
// §2.7), else base64 of its UTF-8 bytes. Line breaks become CRLF first (RFC 2046 §4.1.1).
function textPart(contentType: string, text: string, disposition?: string): Part {
  const crlf = text.replace(/\r\n|\r|\n/g, "\r\n");
  const sevenBit = /^[\t\r\n\x20-\x7e]*$/.test(crlf) && crlf.split("\r\n").every((line) => line.length <= LINE_MAX_BYTES);
  return {
    contentType,
    structural: (disposition ? foldHeader("Content-Disposition", disposition) : "") + foldHeader("Content-Transfer-Encoding", sevenBit ? "7bit" : "base64"),
    body: sevenBit ? crlf : base64Lines(Buffer.from(crlf, "utf8")),
  };
}

function plainText(text: string, disposition?: string): Part {
  return textPart('text/plain; charset="utf-8"', text, disposition);
}

function filePart(file: { name: string; type: string; data: Uint8Array }): Part {
  return {
    contentType: checkMimeType(file.type),
    structural: foldHeader("Content-Disposition", `attachment; ${formatParameter("filename", file.name)}`) + foldHeader("Content-Transfer-Encoding", "base64"),
    body: base64Lines(file.data),
  };
}

// core webxdc.rs build_status_update_part: application/json attachment "status-update.json".
function statusUpdatePart(updates: unknown[]): Part {
  return textPart("application/json", JSON.stringify({ updates }), `attachment; ${formatParameter("filename", "status-update.json")}`);
}

function entityText(part: Part): string {
  return `${foldHeader("Content-Type", part.contentType) + part.structural}\r\n${part.body}`;
}

/** A boundary (RFC 2046 §5.1.1) that occurs in none of `texts`, in core's hex-and-underscore style. */
function boundaryFor(texts: string[]): string {
  for (;;) {
    const boundary = [0, 1, 2].map(() => randomBytes(8).toString("hex")).join("_");
    if (!texts.some((text) => text.includes(`--${boundary}`))) return boundary;
  }
}

// Each part is followed by CRLF, which belongs to the next delimiter (RFC 2046 §5.1.1): part
// bodies stay byte-identical.
function multipart(type: string, parts: Part[]): Part {
  const texts = parts.map(entityText);
  const boundary = boundaryFor(texts);
  const body = `${texts.map((text) => `--${boundary}\r\n${text}\r\n`).join("")}--${boundary}--\r\n`;
  return { contentType: `${type}; boundary="${boundary}"`, structural: "", body };
}

function bodyPart(body: InnerBody): Part {
  switch (body.kind) {
    case "text":
      return plainText(escapeChatText(body.text));
    case "reaction":
      // core mimefactory.rs: a reaction is a text part with "Content-Disposition: reaction", no footer.
      return plainText(body.emoji, "reaction");
    case "file":
      return multipart("multipart/mixed", [plainText(escapeChatText(body.text)), filePart(body.file)]);
    case "webxdc-status":
      // core mimefactory.rs: multipart/report; report-type=status-update, text part then the JSON.
      return multipart("multipart/report; report-type=status-update", [plainText(STATUS_UPDATE_TEXT), statusUpdatePart(body.updates)]);
  }
}

function extraHeader(name: string, value: string): string {
  if (OWN_HEADERS.has(name.toLowerCase())) throw composeError(`header ${name} is written by the composer; do not pass it in headers`);
  const text = KEYDATA_HEADERS.has(name.toLowerCase()) ? spreadKeydata(value.trim()) : value;
  return foldHeader(name, unstructured(text));
}

/** The full inner MIME entity (CRLF), with protected-headers="v1"; hp="cipher" on its Content-Type. */
export function composeInner(message: InnerMessage): string {
  const root = bodyPart(message.body);
  // RFC 9788 §2.1: the header-protection marks go on the root's Content-Type.
  let head = foldHeader("Content-Type", `${root.contentType}; protected-headers="v1"; hp="cipher"`) + root.structural;
  head += foldHeader("From", formatAddress(message.from));
  head += foldHeader("To", message.to.length > 0 ? message.to.map(formatAddress).join(", ") : '"hidden-recipients": ;');
  head += foldHeader("Date", formatDate(message.date));
  head += foldHeader("Message-ID", checkMessageId(message.messageId));
  head += foldHeader("Subject", unstructured(message.subject));
  if (message.inReplyTo !== undefined) head += foldHeader("In-Reply-To", checkMessageId(message.inReplyTo));
  if (message.references && message.references.length > 0) head += foldHeader("References", message.references.map(checkMessageId).join(" "));
  for (const [name, value] of message.headers) head += extraHeader(name, value);
  return `${head}\r\n${root.body}`;
}

/**
 * The outer mail around an armored OpenPGP message (PROTOCOL §1–2; RFC 3156 §4): multipart/encrypted
 * with exactly two leaf parts, the second carrying `armored` byte for byte (it must be CRLF text
 * starting "-----BEGIN PGP MESSAGE-----\r\n").
 */
export function composeEncryptedOuter(o: {
  from: string;
  date: Date;
  messageId: string;
  armored: string;
  to?: string;
  extraHeaders?: Array<[string, string]>;
}): string {
  if (!o.armored.startsWith(ARMOR_BEGIN)) throw composeError('armored text must start with "-----BEGIN PGP MESSAGE-----" and CRLF');
  if (/\r(?!\n)|(?<!\r)\n/.test(o.armored)) throw composeError("armored text must use CRLF line breaks only (filtermail checks CRLF)");
  if (!/^[\x20-\x7e\r\n]*$/.test(o.armored)) throw composeError("armored text must be printable ASCII");
  if (o.armored.split("\r\n").some((line) => line.length > LINE_MAX_BYTES)) throw composeError(`armored text has a line over ${LINE_MAX_BYTES} bytes`);
  const sevenBit = foldHeader("Content-Transfer-Encoding", "7bit");
  const parts: Part[] = [
    { contentType: "application/pgp-encrypted", structural: sevenBit, body: "Version: 1\r\n" },
    { contentType: 'application/octet-stream; name="encrypted.asc"', structural: sevenBit, body: o.armored },
  ];
  const encrypted = multipart('multipart/encrypted; protocol="application/pgp-encrypted"', parts);
  let head = foldHeader("From", formatAddress({ addr: o.from }));
  head += foldHeader("To", o.to !== undefined ? formatAddress({ addr: o.to }) : '"hidden-recipients": ;');
  head += foldHeader("Date", formatDate(o.date));
  head += foldHeader("Message-ID", checkMessageId(o.messageId));
  // Relays replace the subject anyway (PROTOCOL §1); the real one is inside.
  head += foldHeader("Subject", "[...]");
  head += foldHeader("Chat-Version", "1.0");
  for (const [name, value] of o.extraHeaders ?? []) head += extraHeader(name, value);
  head += foldHeader("MIME-Version", "1.0");
  head += foldHeader("Content-Type", encrypted.contentType);
  return `${head}\r\n${encrypted.body}`;
}

/** A fresh Message-ID "<random@domain>" with 144 bits of URL-safe randomness. */
export function newMessageId(domain: string): string {
  if (!/^[A-Za-z0-9.-]+$/.test(domain)) throw composeError(`not a domain for a Message-ID: ${JSON.stringify(domain)}`);
  return `<${randomBytes(18).toString("base64url")}@${domain}>`;
}
