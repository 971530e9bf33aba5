// Simulated incoming events, shaped exactly like the ones host/wire/inbound.ts builds from mail:
// a 1:1 chat's id is the sender's address, a group's is "group:<id>", the text is what a Delta Chat
// client's message with that text reaches the bot as (wire/mime/chat-text.ts), a reaction has none.
import type { Address, ChatRef, GuestEvent, IncomingMessageData } from "../../std/contract.js";
import { parseCommand } from "../mail/command.js";
import { deliveredChatText } from "../wire/mime/chat-text.js";
import type { MessageOptions, WebxdcUpdateOptions } from "./api.js";

/** The sender of a message when the test names none. */
export const DEFAULT_SENDER: Readonly<Address> = Object.freeze({ addr: "alice@example.org", name: "Alice" });

/** An address from "bob@example.org" (name "Bob", from the local part) or { addr, name }. */
function toAddress(from: string | Address | undefined): Address {
  if (from === undefined) return { ...DEFAULT_SENDER };
  if (typeof from !== "string") return { addr: from.addr.trim().toLowerCase(), name: from.name };
  const addr = from.trim().toLowerCase();
  const local = addr.slice(0, Math.max(0, addr.indexOf("@"))) || addr;
  return { addr, name: local.charAt(0).toUpperCase() + local.slice(1) };
}

/**
 * The chat of an event: the sender's 1:1 chat by default; "group:<id>" is that group; an address
 * is that person's 1:1 chat; any other text is the name of a group whose id is "group:" + the name
 * in lower case with runs of other characters than a-z 0-9 turned into "-" ("Team A" → "group:team-a").
 */
export function toChat(chat: string | ChatRef | undefined, from: Address): ChatRef {
  if (chat === undefined) return { id: from.addr, type: "single", name: from.name || from.addr };
  if (typeof chat !== "string") return { ...chat };
  if (chat.startsWith("group:")) return { id: chat, type: "group", name: chat.slice("group:".length) };
  if (chat.includes("@")) {
    const addr = chat.trim().toLowerCase();
    return { id: addr, type: "single", name: addr === from.addr ? from.name || addr : addr };
  }
  const slug =
    chat
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "group";
  return { id: `group:${slug}`, type: "group", name: chat };
}

// The few types a test names most; anything else is sent as bytes, like an unknown attachment.
const TYPES_BY_EXTENSION: Readonly<Record<string, string>> = Object.freeze({
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  html: "text/html",
  json: "application/json",
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  xdc: "application/webxdc+zip",
  zip: "application/zip",
});

/** A file's MIME type from its name's extension; application/octet-stream when unknown. */
function guessType(name: string): string {
  const dot = name.lastIndexOf(".");
  return (dot >= 0 ? TYPES_BY_EXTENSION[name.slice(dot + 1).toLowerCase()] : undefined) ?? "application/octet-stream";
}

/** A message event and its attachments' bytes. */
export function messageEvent(text: string, options: MessageOptions, id: string, nowMs: number): { event: GuestEvent; attachments: Uint8Array[] } {
  const from = toAddress(options.from);
  const files = (options.files ?? []).map((file) => ({
    name: file.name,
    type: file.type ?? guessType(file.name),
    bytes: typeof file.data === "string" ? new Uint8Array(Buffer.from(file.data, "utf8")) : file.data,
  }));
  // The relay reads no text from a reaction (wire/mime/parse-inner.ts: it is not chat text).
  const delivered = options.reaction ? "" : deliveredChatText(text);
  const command = parseCommand(delivered);
  const message: IncomingMessageData = {
    id,
    text: delivered,
    from,
    chat: toChat(options.chat, from),
    attachments: files.map((f) => ({ name: f.name, type: f.type, size: f.bytes.byteLength })),
    ...(command ? { command } : {}),
    date: nowMs,
    ...(options.reaction ? { reaction: { ...options.reaction } } : {}),
  };
  return { event: { kind: "message", message }, attachments: files.map((f) => f.bytes) };
}

/** A webxdc status update event. */
export function webxdcEvent(update: WebxdcUpdateOptions): GuestEvent {
  const from = toAddress(update.from);
  return {
    kind: "webxdc",
    update: {
      instanceId: update.instanceId,
      from,
      chat: toChat(update.chat, from),
      payload: update.payload ?? null,
      ...(update.info ? { info: update.info } : {}),
      ...(update.summary ? { summary: update.summary } : {}),
    },
  };
}
