// A plaintext RFC 5322 mail → the `msg` a bot sees (DESIGN §3.1), for `chatbot run --mail` and the
// local tools. The relay path does not come through here: wire/inbound.ts builds the same shape
// from the decrypted inner message (wire/mime/parse-inner.ts).
import { createHash } from "node:crypto";
import { simpleParser, type AddressObject, type ParsedMail } from "mailparser";
import type { AttachmentInfo, IncomingMessageData } from "../../std/contract.js";
import { ChatbotError, errorMessage } from "../../core/errors.js";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import { decodeEncodedWords } from "../wire/mime/encoded-words.js";
import { parseCommand } from "./command.js";
import { systemClock, type Clock } from "../../core/clock.js";

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

/** Parse a plaintext mail; refuses input over `maxBytes` before the parser sees it. */
export async function parsePlainMessage(raw: Uint8Array, options: { maxBytes?: number; clock?: Clock } = {}): Promise<ParsedMessage> {
  const maxBytes = options.maxBytes ?? MAIL_MAX_BYTES;
  if (raw.byteLength > maxBytes) {
    throw new ChatbotError("E_MAIL_TOO_LARGE", `mail is ${raw.byteLength} bytes, over the limit of ${maxBytes} bytes`);
  }
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(Buffer.from(raw), { skipHtmlToText: false, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  } catch (error) {
    throw new ChatbotError("E_MAIL_MALFORMED", `mail could not be parsed: ${errorMessage(error)}`);
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
      date: parsed.date?.getTime() ?? (options.clock ?? systemClock).now(),
    },
    attachments,
  };
}
