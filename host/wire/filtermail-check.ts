// What the chatmail relay calls "encrypted" (PROTOCOL §1), mirroring filtermail's check_encrypted
// (chatmail/filtermail src/message.rs, src/openpgp.rs; MIME split the way the mailparse crate does it).
// Mail that fails this is refused by the relay with "523 Encryption Needed", so every message the host
// sends must pass. Where filtermail versions differ we take the strictest reading, so a pass here is a
// pass on every relay: exactly two parts (filtermail also lets a lone first part through), no
// "Version:" armor header (refused in outgoing mail), and OpenPGP-format packet headers only (legacy
// format is accepted only since filtermail 0.3.0).
import { ChatbotError } from "../../core/errors.js";
import { isEncryptedMessageShape, readPacketFrames } from "./pgp/packets.js";

/** The verdict, with a reason a person can act on when it fails. */
export type EncryptedCheck = { ok: true } | { ok: false; reason: string };

interface Entity {
  headers: Map<string, string>;
  /** Lowercased MIME type; text/plain when absent (RFC 2045 §5.2). */
  mimetype: string;
  params: Map<string, string>;
  /** Raw body bytes as a latin1 string (one char per byte). */
  body: string;
}

/** Headers (unfolded, first occurrence wins, names lowercased) and the body of one entity. */
function parseEntity(raw: string): Entity {
  const blank = /\r?\n\r?\n/.exec(raw);
  const head = blank ? raw.slice(0, blank.index) : raw;
  const body = blank ? raw.slice(blank.index + blank[0].length) : "";
  const headers = new Map<string, string>();
  let current: { name: string; value: string } | undefined;
  const flush = () => {
    if (current && !headers.has(current.name)) headers.set(current.name, current.value.trim());
  };
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && current) {
      current.value += ` ${line.trim()}`;
      continue;
    }
    flush();
    const colon = line.indexOf(":");
    current = colon > 0 ? { name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1) } : undefined;
  }
  flush();
  const { mimetype, params } = parseContentType(headers.get("content-type"));
  return { headers, mimetype, params, body };
}

/** RFC 2045 §5.1 Content-Type: type/subtype and parameters (quoted strings unquoted). */
function parseContentType(value: string | undefined): { mimetype: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  if (value === undefined) return { mimetype: "text/plain", params };
  const semicolon = value.indexOf(";");
  const mimetype = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  const parameter = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]*))/g;
  for (const match of value.matchAll(parameter)) {
    const name = (match[1] ?? "").toLowerCase();
    const quoted = match[2];
    if (!params.has(name)) params.set(name, quoted !== undefined ? quoted.replace(/\\(.)/g, "$1") : (match[3] ?? ""));
  }
  return { mimetype, params };
}

/** Index of `needle` at `from` or later where it starts a line, or -1. */
function indexAtLineStart(text: string, needle: string, from: number): number {
  let index = text.indexOf(needle, from);
  while (index > 0 && text[index - 1] !== "\n") index = text.indexOf(needle, index + 1);
  return index;
}

/**
 * The raw parts of a multipart body, split like mailparse: the first "--boundary" anywhere, each part
 * from the line after a delimiter to the next delimiter at a line start (or the end), stopping at
 * "--boundary--". No boundary parameter or no delimiter: no parts.
 */
function splitMultipart(entity: Entity): string[] {
  const boundary = entity.params.get("boundary");
  if (!entity.mimetype.startsWith("multipart/") || !boundary) return [];
  const delimiter = `--${boundary}`;
  const text = entity.body;
  const parts: string[] = [];
  const first = text.indexOf(delimiter);
  if (first < 0) return parts;
  let delimiterEnd = first + delimiter.length;
  for (;;) {
    const newline = text.indexOf("\n", delimiterEnd);
    if (newline < 0) break;
    const partStart = newline + 1;
    const next = indexAtLineStart(text, delimiter, partStart);
    const partEnd = next < 0 ? text.length : next;
    parts.push(text.slice(partStart, partEnd));
    delimiterEnd = partEnd + delimiter.length;
    if (delimiterEnd + 2 > text.length || text.slice(delimiterEnd, delimiterEnd + 2) === "--") break;
  }
  return parts;
}

/** The body after undoing Content-Transfer-Encoding (base64, quoted-printable; else as is). */
function decodedBody(entity: Entity): string {
  const encoding = (entity.headers.get("content-transfer-encoding") ?? "").toLowerCase();
  if (encoding === "base64") return Buffer.from(entity.body.replace(/[^A-Za-z0-9+/=]/g, ""), "base64").toString("latin1");
  if (encoding === "quoted-printable") {
    return entity.body.replace(/=\r?\n/g, "").replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  return entity.body;
}

/** Strict standard base64 (padding required, no stray characters, canonical final bits), or undefined. */
function strictBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  return bytes.toString("base64") === text ? new Uint8Array(bytes) : undefined;
}

/**
 * The bytes filtermail reads from an armored PGP MESSAGE (outgoing rules), or undefined where it
 * refuses: it must start with "-----BEGIN PGP MESSAGE-----\r\n"; trailing CRLFs and the END line are
 * cut; a "Version: " header is refused; everything after the LAST "=" is cut as "the CRC" (so a block
 * without a CRC line loses its padding); line breaks are removed and the rest decoded strictly.
 */
export function filtermailDearmor(armored: string): Uint8Array | undefined {
  const prefix = "-----BEGIN PGP MESSAGE-----\r\n";
  const suffix = "-----END PGP MESSAGE-----";
  if (!armored.startsWith(prefix)) return undefined;
  let payload = armored.slice(prefix.length);
  while (payload.endsWith("\r\n")) payload = payload.slice(0, -2);
  if (!payload.endsWith(suffix)) return undefined;
  payload = payload.slice(0, -suffix.length);
  if (payload.startsWith("Version: ")) return undefined;
  while (payload.startsWith("\r\n")) payload = payload.slice(2);
  const lastEquals = payload.lastIndexOf("=");
  if (lastEquals >= 0) payload = payload.slice(0, lastEquals);
  return strictBase64(payload.replace(/[\r\n]/g, ""));
}

/**
 * Whether the relay's filtermail counts `raw` (a whole RFC 5322 message) as encrypted: top-level
 * multipart/encrypted with exactly two non-multipart parts, part 1 application/pgp-encrypted with
 * body "Version: 1", part 2 application/octet-stream holding an armored message whose packets are
 * PKESK/SKESK followed by exactly one SEIPD.
 */
export function checkEncryptedMime(raw: string | Uint8Array): EncryptedCheck {
  const text = typeof raw === "string" ? Buffer.from(raw, "utf8").toString("latin1") : Buffer.from(raw).toString("latin1");
  const top = parseEntity(text);
  const parts = splitMultipart(top);
  if (parts.length === 0) return { ok: false, reason: "not a multipart message" };
  if (top.mimetype !== "multipart/encrypted") return { ok: false, reason: `top-level type is ${top.mimetype}, not multipart/encrypted` };
  if (parts.length !== 2) return { ok: false, reason: `multipart/encrypted has ${parts.length} parts, not 2` };
  const [control, payload] = parts.map(parseEntity) as [Entity, Entity];
  if (splitMultipart(control).length > 0 || splitMultipart(payload).length > 0) {
    return { ok: false, reason: "a part of multipart/encrypted is itself multipart" };
  }
  if (control.mimetype !== "application/pgp-encrypted") {
    return { ok: false, reason: `part 1 is ${control.mimetype}, not application/pgp-encrypted` };
  }
  if (decodedBody(control).trim() !== "Version: 1") return { ok: false, reason: 'part 1 body is not "Version: 1"' };
  if (payload.mimetype !== "application/octet-stream") {
    return { ok: false, reason: `part 2 is ${payload.mimetype}, not application/octet-stream` };
  }
  const binary = filtermailDearmor(decodedBody(payload));
  if (binary === undefined) {
    return { ok: false, reason: "part 2 is not an armored PGP MESSAGE as filtermail reads it (BEGIN line, CRC line, strict base64)" };
  }
  const frames = readPacketFrames(binary, { legacyFormat: false });
  if (frames === undefined || !isEncryptedMessageShape(frames)) {
    return { ok: false, reason: "the OpenPGP packets are not PKESK/SKESK followed by exactly one SEIPD" };
  }
  return { ok: true };
}

/**
 * Throws E_FILTERMAIL_CHECK unless the relay's filtermail would let `raw` out: the host never hands
 * SMTP a mail that would come back "523 Encryption Needed" (a host bug; retrying composes it again).
 */
export function assertEncryptedMime(raw: string | Uint8Array): void {
  const check = checkEncryptedMime(raw);
  if (!check.ok) throw new ChatbotError("E_FILTERMAIL_CHECK", `composed mail would not pass the relay's encryption filter: ${check.reason}`);
}
