// RFC 2047 encoded words: decoding for headers mailparser leaves raw (Chat-Group-Name and other
import { decodeHexEscapes } from "./hex-escapes.js";
// Chat-* headers) and encoding for every non-ASCII header text the composer writes.

// RFC 2047 §2 encoded word: =?charset[*language]?B|Q?text?=
const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g;

// RFC 2047 §2: an encoded word is at most 75 characters; "=?utf-8?B?" + "?=" take 12 of them.
const ENCODED_WORD_MAX_CHARS = 75;
const B_PREFIX = "=?utf-8?B?";
const B_SUFFIX = "?=";

function wordBytes(encoding: string, text: string): Buffer {
  if (encoding.toUpperCase() === "B") return Buffer.from(text, "base64");
  // RFC 2047 §4.2: "_" is a space, "=XX" a byte in hex.
  return decodeHexEscapes(text, true);
}

/**
 * Decode RFC 2047 encoded words in an unstructured header mailparser leaves raw (Delta Chat encodes
 * a non-ASCII Chat-Group-Name this way). Adjacent words are joined without the space between them
 * (RFC 2047 §6.2) and their bytes decoded together, so a character split across two words survives;
 * a word in an unknown charset is kept as it is.
 */
export function decodeEncodedWords(value: string): string {
  let out = "";
  let last = 0;
  let pending: { charset: string; bytes: Buffer[]; raw: string } | undefined;
  const flush = () => {
    if (!pending) return;
    try {
      out += new TextDecoder(pending.charset).decode(Buffer.concat(pending.bytes));
    } catch {
      out += pending.raw;
    }
    pending = undefined;
  };
  for (const match of value.matchAll(ENCODED_WORD)) {
    const between = value.slice(last, match.index);
    const charset = (match[1] ?? "").toLowerCase();
    const bytes = wordBytes(match[2] ?? "Q", match[3] ?? "");
    const adjacent = pending !== undefined && /^\s*$/.test(between);
    if (adjacent && pending!.charset === charset) {
      pending!.bytes.push(bytes);
      pending!.raw += between + match[0];
    } else {
      flush();
      if (!adjacent) out += between;
      pending = { charset, bytes: [bytes], raw: match[0] };
    }
    last = match.index + match[0].length;
  }
  flush();
  return out + value.slice(last);
}

/**
 * Encode `text` as UTF-8 B encoded words (RFC 2047 §4.1), each at most 75 characters and never
 * splitting a character, separated by one space (which decoders drop between adjacent words, §6.2).
 */
export function encodeWords(text: string): string {
  // Each 3 bytes become 4 base64 characters: 63 characters of payload hold 45 bytes (multiple of 3).
  const maxBytes = Math.floor((ENCODED_WORD_MAX_CHARS - B_PREFIX.length - B_SUFFIX.length) / 4) * 3;
  const words: string[] = [];
  let chunk: Buffer[] = [];
  let size = 0;
  const flush = () => {
    if (chunk.length === 0) return;
    words.push(B_PREFIX + Buffer.concat(chunk).toString("base64") + B_SUFFIX);
    chunk = [];
    size = 0;
  };
  for (const char of text) {
    const bytes = Buffer.from(char, "utf8");
    if (size + bytes.length > maxBytes) flush();
    chunk.push(bytes);
    size += bytes.length;
  }
  flush();
  return words.length > 0 ? words.join(" ") : B_PREFIX + B_SUFFIX;
}
