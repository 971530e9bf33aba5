// A byte-exact, minimal MIME entity reader for the two places where the host must see the structure
// exactly as filtermail does (the multipart/encrypted wrapper and the legacy unencrypted SecureJoin
// request). mailparser flattens a message into text + attachments, which hides nesting and part
// counts; this reader never recurses, so hostile nesting costs nothing here.
//
// Input is a "binary string" (latin1: one char per byte) so offsets are byte offsets and nothing is
// altered by a charset decoder; header values are turned into UTF-8 text only when read out.
import { isReceivedAddress } from "../../../core/address.js";
import { decodeHexEscapes } from "./hex-escapes.js";

/** A header section and the body after it, both as binary strings. */
export interface Entity {
  /** Lowercased field name → unfolded values (RFC 5322 §2.2.3) in order, decoded as UTF-8. */
  headers: Map<string, string[]>;
  body: string;
}

/** A Content-Type (or Content-Disposition) value: the lowercased main value and its parameters. */
export interface ParameterizedValue {
  value: string;
  /** Lowercased parameter name → value with quoted-string quoting removed. */
  params: Map<string, string>;
}

// RFC 5322 §3.6.8: a field name is printable US-ASCII except ":".
const FIELD_NAME = /^[!-9;-~]+$/;

/** The bytes as a binary string (one char per byte), without copying through a charset decoder. */
export function binaryString(raw: Uint8Array): string {
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("latin1");
}

/** Split an entity at the first empty line (CRLF or bare LF, as maildir copies use) into headers and body. */
export function splitEntity(text: string): Entity {
  const lines: string[] = [];
  let pos = 0;
  let bodyStart = text.length;
  while (pos < text.length) {
    const newline = text.indexOf("\n", pos);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(pos, end).replace(/\r$/, "");
    pos = newline === -1 ? text.length : newline + 1;
    if (line === "") {
      bodyStart = pos;
      break;
    }
    lines.push(line);
  }
  return { headers: headerMap(lines), body: bodyStart < text.length ? text.slice(bodyStart) : "" };
}

function headerMap(lines: string[]): Map<string, string[]> {
  const fields: Array<[string, string]> = [];
  for (const line of lines) {
    const last = fields[fields.length - 1];
    // RFC 5322 §2.2.3: unfolding removes the line break only; the leading WSP stays.
    if ((line.startsWith(" ") || line.startsWith("\t")) && last) {
      last[1] += line;
      continue;
    }
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trimEnd() : "";
    if (!FIELD_NAME.test(name)) continue; // not a field (or an mbox "From " line): ignored, never merged
    fields.push([name.toLowerCase(), line.slice(colon + 1)]);
  }
  const map = new Map<string, string[]>();
  for (const [name, value] of fields) {
    const list = map.get(name) ?? [];
    list.push(Buffer.from(value, "latin1").toString("utf8").trim());
    map.set(name, list);
  }
  return map;
}

/** The single value of a header; undefined when absent or present more than once (ambiguous). */
export function singleHeader(headers: Map<string, string[]>, name: string): string | undefined {
  const values = headers.get(name);
  return values && values.length === 1 ? values[0] : undefined;
}

/** Parse `type/subtype; name=value; name="quoted value"` (RFC 2045 §5.1); parameter names lowercased. */
export function parseParameterized(raw: string): ParameterizedValue {
  const pieces: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!;
    if (quoted && char === "\\" && i + 1 < raw.length) {
      current += char + raw[++i];
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === ";" && !quoted) {
      pieces.push(current);
      current = "";
    } else current += char;
  }
  pieces.push(current);
  const params = new Map<string, string>();
  for (const piece of pieces.slice(1)) {
    const equals = piece.indexOf("=");
    if (equals <= 0) continue;
    const name = piece.slice(0, equals).trim().toLowerCase();
    let value = piece.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, "$1");
    if (!params.has(name)) params.set(name, value);
  }
  return { value: (pieces[0] ?? "").trim().toLowerCase(), params };
}

/** The parsed Content-Type of an entity; RFC 2045 §5.2 default text/plain; undefined when it appears twice. */
export function contentType(headers: Map<string, string[]>): ParameterizedValue | undefined {
  const values = headers.get("content-type");
  if (!values) return { value: "text/plain", params: new Map([["charset", "us-ascii"]]) };
  return values.length === 1 ? parseParameterized(values[0]!) : undefined;
}

/**
 * The body parts of a multipart body (RFC 2046 §5.1.1), as binary strings. The line break before a
 * delimiter belongs to the delimiter, so each part is byte-identical to what the sender wrote.
 * Undefined when there is no closing delimiter. Only this level's boundary is looked at.
 */
export function splitMultipart(body: string, boundary: string): string[] | undefined {
  if (boundary === "" || boundary.length > 70) return undefined; // RFC 2046 §5.1.1: 1–70 characters
  const dash = `--${boundary}`;
  const parts: string[] = [];
  let partStart = -1;
  let pos = 0;
  while (pos <= body.length) {
    const newline = body.indexOf("\n", pos);
    const end = newline === -1 ? body.length : newline;
    const line = body.slice(pos, end).replace(/\r$/, "");
    if (line.startsWith(dash)) {
      const rest = line.slice(dash.length);
      const closing = rest.startsWith("--");
      // RFC 2046 §5.1.1: transport padding (LWSP) may follow the delimiter.
      if (/^[ \t]*$/.test(closing ? rest.slice(2) : rest)) {
        if (partStart >= 0) {
          // Drop the line break that precedes this delimiter line.
          let partEnd = pos;
          if (body[partEnd - 1] === "\n") partEnd--;
          if (body[partEnd - 1] === "\r") partEnd--;
          parts.push(body.slice(partStart, Math.max(partStart, partEnd)));
        }
        if (closing) return parts;
        partStart = newline === -1 ? body.length : newline + 1;
      }
    }
    if (newline === -1) break;
    pos = newline + 1;
  }
  return undefined;
}

/** Decode a body by its Content-Transfer-Encoding; undefined for an encoding this reader does not know. */
export function decodeTransfer(body: string, encoding: string | undefined): Buffer | undefined {
  const name = (encoding ?? "7bit").trim().toLowerCase();
  if (name === "7bit" || name === "8bit" || name === "binary") return Buffer.from(body, "latin1");
  if (name === "base64") return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ""), "base64");
  if (name === "quoted-printable") {
    // RFC 2045 §6.7: "=" at a line end is a soft break; "=XX" a byte; trailing whitespace is padding.
    const text = body.replace(/[ \t]+(?=\r?\n|$)/g, "").replace(/=\r?\n/g, "");
    return decodeHexEscapes(text, false);
  }
  return undefined;
}

/** The bare address of an address header (`"Name" <a@b>` or `a@b`), lowercased; undefined if there is none. */
export function bareAddress(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const angle = /<([^<>\s]*)>\s*$/.exec(value);
  const candidate = (angle ? angle[1]! : value).trim();
  return isReceivedAddress(candidate) ? candidate.toLowerCase() : undefined;
}
