// Writing header fields: RFC 5322 folding, RFC 2047 words for non-ASCII text, RFC 2231 parameters,
// addresses and dates. Every function returns ASCII only and never a CR or LF the caller did not
// ask for, so nothing a bot supplies can start a new header line.
import { isHeaderAddress } from "../../../core/address.js";
import { ChatbotError } from "../../../core/errors.js";
import { encodeWords } from "./encoded-words.js";

/** An address as the composer writes it. */
export interface MailAddress {
  addr: string;
  name?: string;
}

/** RFC 5322 §2.1.1: lines SHOULD stay within 78 characters… */
const FOLD_COLUMNS = 78;
/** …and MUST stay within 998 (excluding CRLF). */
export const LINE_MAX_BYTES = 998;

// RFC 5322 §3.6.8: printable US-ASCII except ":".
const FIELD_NAME = /^[!-9;-~]+$/;
const MESSAGE_ID = /^<[!-;=?-~]+>$/;
// RFC 2045 §5.1 token characters (no tspecials).
const TOKEN = /^[!#$%&'*+.^_`{|}~0-9A-Za-z-]+$/;
// RFC 2231 §7 attribute-char: what may stay unescaped in an extended parameter value.
const ATTRIBUTE_CHAR = /[!#$&+.^_`{|}~0-9A-Za-z-]/;
// A filename that every parser reads the same in a plain quoted-string (no ";", quotes or backslash).
const SIMPLE_PARAM = /^[A-Za-z0-9 ._()+,=@!#$&'[\]~-]{1,60}$/;
// Section length for RFC 2231 continuations, so "; filename*N*=" + section fits a folded line.
const PARAM_SECTION_CHARS = 60;

function composeError(message: string): ChatbotError {
  return new ChatbotError("E_MAIL_COMPOSE", message);
}

/** True when `text` is printable ASCII (tab allowed), i.e. may appear in a header as it is. */
function isPlainHeaderText(text: string): boolean {
  return /^[\t\x20-\x7e]*$/.test(text);
}

/** Unstructured header text (RFC 5322 §3.2.5): kept when printable ASCII, else RFC 2047 encoded words. */
export function unstructured(text: string): string {
  return isPlainHeaderText(text) ? text.trim() : encodeWords(text);
}

/** `"Name" <addr>`, `=?utf-8?B?…?= <addr>` or `<addr>` (RFC 5322 §3.4); refuses a malformed address. */
export function formatAddress(address: MailAddress): string {
  if (!isHeaderAddress(address.addr)) throw composeError(`not a mail address: ${JSON.stringify(address.addr)}`);
  const name = address.name ?? "";
  if (name === "") return `<${address.addr}>`;
  const display = isPlainHeaderText(name) ? `"${name.replace(/["\\]/g, "\\$&")}"` : encodeWords(name);
  return `${display} <${address.addr}>`;
}

/** A Message-ID with its angle brackets, checked (RFC 5322 §3.6.4, no spaces or nested brackets). */
export function checkMessageId(id: string): string {
  if (!MESSAGE_ID.test(id)) throw composeError(`not a Message-ID (need "<id@domain>"): ${JSON.stringify(id)}`);
  return id;
}

/** RFC 5322 §3.3 date-time in UTC, e.g. "Mon, 23 Nov 2026 08:59:55 +0000". */
export function formatDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw composeError("invalid Date");
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${days[date.getUTCDay()]}, ${two(date.getUTCDate())} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}

/** A MIME type `type/subtype` (RFC 2045 §5.1), lowercased; refuses anything else. */
export function checkMimeType(type: string): string {
  const [main, sub, extra] = type.trim().split("/");
  if (extra !== undefined || !main || !sub || !TOKEN.test(main) || !TOKEN.test(sub)) throw composeError(`not a MIME type: ${JSON.stringify(type)}`);
  return `${main}/${sub}`.toLowerCase();
}

/**
 * `name="value"` for a short simple value, else RFC 2231 `name*=utf-8''%XX…`, split into
 * `name*0*=…; name*1*=…` sections when long (RFC 2231 §3–4) so each fits a folded line.
 */
export function formatParameter(name: string, value: string): string {
  if (SIMPLE_PARAM.test(value)) return `${name}="${value}"`;
  // One unit per character: some readers (Rust mailparse, which core uses) decode each section on
  // its own, so a section must never end inside a character's bytes.
  const units = Array.from(value, (char) =>
    char.length === 1 && ATTRIBUTE_CHAR.test(char)
      ? char
      : Array.from(Buffer.from(char, "utf8"), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join(""),
  );
  const encoded = `utf-8''${units.join("")}`;
  if (encoded.length <= PARAM_SECTION_CHARS) return `${name}*=${encoded}`;
  const sections: string[] = [];
  let section = "utf-8''";
  for (const unit of units) {
    if (section.length + unit.length > PARAM_SECTION_CHARS && section !== "" && section !== "utf-8''") {
      sections.push(section);
      section = "";
    }
    section += unit;
  }
  sections.push(section);
  return sections.map((text, i) => `${name}*${i}*=${text}`).join("; ");
}

/**
 * Autocrypt keydata (Autocrypt Level 1 §2.1) is one long base64 word; whitespace in it is ignored by
 * readers, so spread it into pieces that fold to ≤ 78 columns (core does the same, aheader.rs).
 */
export function spreadKeydata(value: string): string {
  const match = /(^|;\s*)keydata=([A-Za-z0-9+/=\s]+)$/.exec(value);
  if (!match) return value;
  const base64 = match[2]!.replace(/\s+/g, "");
  const pieces = [base64.slice(0, 64)];
  for (let i = 64; i < base64.length; i += 76) pieces.push(base64.slice(i, i + 76));
  return `${value.slice(0, match.index) + match[1]}keydata=${pieces.join(" ")}`;
}

/**
 * One header field, folded at whitespace (RFC 5322 §2.2.3) so lines stay within 78 columns where a
 * break is possible, ending in CRLF. Refuses a bad name, a CR/LF/NUL in the value, or a line that
 * would still exceed 998 bytes.
 */
export function foldHeader(name: string, value: string): string {
  if (!FIELD_NAME.test(name)) throw composeError(`not a header name: ${JSON.stringify(name)}`);
  if (!isPlainHeaderText(value)) throw composeError(`header ${name} has a character that needs encoding`);
  const chunks = value.trim().match(/[ \t]*[^ \t]+/g) ?? [];
  const lines: string[] = [];
  let line = `${name}:`;
  let first = true;
  for (const raw of chunks) {
    const chunk = first && !/^[ \t]/.test(raw) ? ` ${raw}` : raw;
    if (!first && line.length + chunk.length > FOLD_COLUMNS) {
      lines.push(line);
      line = chunk;
    } else line += chunk;
    first = false;
  }
  lines.push(line);
  for (const folded of lines) {
    if (folded.length > LINE_MAX_BYTES) throw composeError(`header ${name} has a word too long to fold within ${LINE_MAX_BYTES} bytes`);
  }
  return `${lines.join("\r\n")}\r\n`;
}
