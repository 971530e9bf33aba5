// A plaintext RFC 5322 mail → the `msg` a bot sees (DESIGN §3.1). The encrypted path (issue 3)
// decrypts first and then uses this same mapping on the inner MIME entity.
import { createHash } from "node:crypto";
import { simpleParser, type AddressObject, type ParsedMail } from "mailparser";
import type { AttachmentInfo, IncomingMessageData } from "../../std/contract.js";
import { ChatbotError } from "../errors.js";
import { MAIL_MAX_BYTES } from "../limits.js";
import { parseCommand } from "./command.js";

/** A parsed message and the bytes of its attachments (handed to the isolate on demand). */
export interface ParsedMessage {
  message: IncomingMessageData;
  attachments: Uint8Array[];
}

function firstAddress(field: AddressObject | AddressObject[] | undefined): { address: string; name: string } | undefined {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  for (const object of list) {
    for (const entry of object.value) {
      if (entry.address) return { address: entry.address.toLowerCase(), name: entry.name ?? "" };
    }
  }
  return undefined;
}

function header(parsed: ParsedMail, name: string): string | undefined {
  const value = parsed.headers.get(name);
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

// RFC 2047 §2 encoded word: =?charset[*language]?B|Q?text?=
const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g;

function wordBytes(encoding: string, text: string): Buffer {
  if (encoding.toUpperCase() === "B") return Buffer.from(text, "base64");
  // RFC 2047 §4.2: "_" is a space, "=XX" a byte in hex.
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(text[i] === "_" ? 0x20 : text.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}

/**
 * Decode RFC 2047 encoded words in an unstructured header mailparser leaves raw (Delta Chat encodes
 * a non-ASCII Chat-Group-Name this way). Adjacent words are joined without the space between them
 * (RFC 2047 §6.2) and their bytes decoded together, so a character split across two words survives;
 * a word in an unknown charset is kept as it is.
 */
function decodeEncodedWords(value: string): string {
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

/** Parse a plaintext mail; refuses input over `maxBytes` before the parser sees it. */
export async function parsePlainMessage(raw: Uint8Array, options: { maxBytes?: number; now?: () => number } = {}): Promise<ParsedMessage> {
  const maxBytes = options.maxBytes ?? MAIL_MAX_BYTES;
  if (raw.byteLength > maxBytes) {
    throw new ChatbotError("E_MAIL_TOO_LARGE", `mail is ${raw.byteLength} bytes, over the limit of ${maxBytes} bytes`);
  }
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(Buffer.from(raw), { skipHtmlToText: false, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  } catch (error) {
    throw new ChatbotError("E_MAIL_MALFORMED", `mail could not be parsed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const from = firstAddress(parsed.from);
  if (!from) throw new ChatbotError("E_MAIL_MALFORMED", "mail has no From address");

  const text = (parsed.text ?? "").replace(/\s+$/, "");
  const id = parsed.messageId ?? `<${createHash("sha256").update(raw).digest("hex").slice(0, 32)}@chatbot.local>`;
  const groupId = header(parsed, "chat-group-id");
  const chat = groupId
    ? { id: `group:${groupId}`, type: "group" as const, name: decodeEncodedWords(header(parsed, "chat-group-name") ?? "") }
    : { id: from.address, type: "single" as const, name: from.name || from.address };

  const attachments: Uint8Array[] = [];
  const infos: AttachmentInfo[] = [];
  for (const attachment of parsed.attachments) {
    attachments.push(new Uint8Array(attachment.content));
    infos.push({ name: attachment.filename ?? `attachment-${infos.length + 1}`, type: attachment.contentType, size: attachment.size });
  }
  const command = parseCommand(text);
  return {
    message: {
      id,
      text,
      from: { addr: from.address, name: from.name },
      chat,
      attachments: infos,
      ...(command ? { command } : {}),
      date: parsed.date?.getTime() ?? (options.now ?? Date.now)(),
    },
    attachments,
  };
}
