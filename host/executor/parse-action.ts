// Validation of the actions a guest emits. A hostile bot calls the bridge directly with any JSON,
// so nothing is trusted because std would not send it: every field is type- and size-checked, no
// unknown key passes, and the result is a fresh object holding only the checked fields.
import type { Action, OutgoingFile, WebxdcUpdateOut } from "../../std/contract.js";
import { isCanonicalAddress } from "../../core/address.js";
import {
  ACTION_JSON_MAX_DEPTH,
  ADDR_MAX_CHARS,
  CHAT_ID_MAX_CHARS,
  FILE_NAME_MAX_BYTES,
  FILE_TYPE_MAX_CHARS,
  MESSAGE_ID_MAX_CHARS,
  REACTION_MAX_BYTES,
  WEBXDC_FIELD_MAX_CHARS,
  WEBXDC_UPDATE_MAX_BYTES,
} from "../../core/limits.js";
import { checkMimeType } from "../wire/mime/header-format.js";
import { GuestRefusal } from "./guest-refusal.js";
import { checkJsonText } from "./json-check.js";

/** The MIME type of a webxdc app (PROTOCOL §5); every `*.xdc` file is sent with it. */
export const WEBXDC_MIME_TYPE = "application/webxdc+zip";

// RFC 5322 §3.6.4 msg-id as the composer writes it: printable ASCII without spaces or "<" ">" inside.
const MESSAGE_ID = /^<[!-;=?-~]+>$/;
// Chat ids are addresses or "group:<id>": printable ASCII, no spaces.
const CHAT_ID = /^[!-~]+$/;
// Group chat ids as host/wire/inbound.ts makes them: "group:" and core's group id alphabet.
const GROUP_CHAT_ID = /^group:[A-Za-z0-9_-]+$/;
// A reaction is the body of a text part: no control characters (no line breaks).
const NO_CONTROLS = /^[^\x00-\x1f\x7f]*$/;

const KEYS: Record<Action["type"], readonly string[]> = {
  reply: ["type", "chatId", "inReplyTo", "text", "file"],
  send: ["type", "chatId", "text", "file"],
  "webxdc-status": ["type", "chatId", "instanceId", "update"],
  delete: ["type", "chatId", "messageId"],
  resend: ["type", "chatId", "messageId"],
  react: ["type", "chatId", "messageId", "emoji"],
  "add-member": ["type", "chatId", "addr"],
};
const UPDATE_KEYS = ["payload", "info", "summary", "document", "href"] as const;

const refuse = (message: string) => new GuestRefusal("E_ACTION", message);

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw refuse(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function onlyKeys(object: Record<string, unknown>, allowed: readonly string[], what: string): void {
  const extra = Object.keys(object).find((key) => !allowed.includes(key));
  if (extra !== undefined) throw refuse(`${what} has an unknown field "${extra.slice(0, 40)}" (allowed: ${allowed.join(", ")})`);
}

function messageIdOf(value: unknown, what: string): string {
  if (typeof value !== "string" || value.length > MESSAGE_ID_MAX_CHARS || !MESSAGE_ID.test(value)) {
    throw refuse(`${what} must be a Message-ID "<id@domain>" of at most ${MESSAGE_ID_MAX_CHARS} characters`);
  }
  return value;
}

function chatIdOf(value: unknown): string {
  if (typeof value !== "string" || value === "" || value.length > CHAT_ID_MAX_CHARS || !CHAT_ID.test(value)) {
    throw refuse(`action.chatId must be a non-empty chat id (no spaces) of at most ${CHAT_ID_MAX_CHARS} characters`);
  }
  return value;
}

function textOf(value: unknown): string {
  if (typeof value !== "string") throw refuse("action.text must be a string");
  return value;
}

/** A MIME type "type/subtype" the composer can write (RFC 6838 §4.2 caps each name at 127 characters). */
function isMimeType(type: string): boolean {
  try {
    checkMimeType(type);
    return true;
  } catch {
    return false;
  }
}

// Only name and type cross as JSON; size and data are filled in from the bytes by the recorder.
function fileOf(value: unknown): OutgoingFile | undefined {
  if (value === undefined) return undefined;
  const file = value as Record<string, unknown>;
  if (typeof file !== "object" || file === null || typeof file.name !== "string" || typeof file.type !== "string") {
    throw refuse("action.file must be { name, type }");
  }
  if (file.name === "" || Buffer.byteLength(file.name, "utf8") > FILE_NAME_MAX_BYTES) {
    throw refuse(`action.file.name must be a non-empty file name of at most ${FILE_NAME_MAX_BYTES} bytes (UTF-8)`);
  }
  if (file.type.length > FILE_TYPE_MAX_CHARS || !isMimeType(file.type)) {
    throw refuse(`action.file.type must be a MIME type "type/subtype" of at most ${FILE_TYPE_MAX_CHARS} characters`);
  }
  // core decides "webxdc app" by the .xdc name and the zip's index.html; the type must match (PROTOCOL §5).
  const type = /\.xdc$/i.test(file.name) ? WEBXDC_MIME_TYPE : file.type;
  return { name: file.name, type, size: 0, dataBase64: "" };
}

function updateOf(value: unknown): WebxdcUpdateOut {
  const update = objectOf(value, "action.update");
  onlyKeys(update, UPDATE_KEYS, "action.update");
  if (!("payload" in update)) throw refuse("action.update.payload is required (any JSON value, null included)");
  const out: WebxdcUpdateOut = { payload: update.payload };
  for (const key of UPDATE_KEYS) {
    if (key === "payload" || update[key] === undefined) continue;
    const text = update[key];
    if (typeof text !== "string" || text.length > WEBXDC_FIELD_MAX_CHARS) {
      throw refuse(`action.update.${key} must be a string of at most ${WEBXDC_FIELD_MAX_CHARS} characters`);
    }
    out[key] = text;
  }
  // The exact JSON the composer sends as status-update.json.
  const bytes = Buffer.byteLength(JSON.stringify({ updates: [out] }), "utf8");
  if (bytes > WEBXDC_UPDATE_MAX_BYTES) {
    throw new GuestRefusal("E_WEBXDC_TOO_LARGE", `a webxdc update is at most ${WEBXDC_UPDATE_MAX_BYTES} bytes of JSON; this one is ${bytes}`);
  }
  return out;
}

function emojiOf(value: unknown): string {
  if (typeof value !== "string" || !NO_CONTROLS.test(value) || Buffer.byteLength(value, "utf8") > REACTION_MAX_BYTES) {
    throw refuse(`action.emoji must be a string without control characters of at most ${REACTION_MAX_BYTES} bytes ("" removes the reaction)`);
  }
  return value;
}

function addrOf(value: unknown): string {
  const addr = typeof value === "string" ? value.trim().toLowerCase() : undefined;
  if (addr === undefined || addr.length > ADDR_MAX_CHARS || !isCanonicalAddress(addr)) {
    throw refuse(`action.addr must be an email address "name@domain" of at most ${ADDR_MAX_CHARS} characters`);
  }
  return addr;
}

/** A reply's or send's text: from the `text` argument (std), or from the JSON (bundles of older std). */
function messageTextOf(action: Record<string, unknown>, text: string | undefined): string {
  if (text === undefined) return textOf(action.text);
  if (action.text !== undefined) throw refuse("action.text was given both in the JSON and as the text argument");
  return text;
}

/**
 * The action in `json`, checked, with `text` (the emit call's text argument, if any) as a
 * message's text; refuses (E_ACTION, E_WEBXDC_TOO_LARGE) anything else. The JSON is checked in one
 * linear pass before JSON.parse builds it: V8 takes ~0.6 µs per nesting level.
 */
export function parseAction(json: string, text?: string): Action {
  const shape = checkJsonText(json, ACTION_JSON_MAX_DEPTH);
  if (shape === "depth") throw refuse(`action JSON is nested more than ${ACTION_JSON_MAX_DEPTH} levels deep`);
  if (shape === "syntax") throw refuse("action is not valid JSON");
  const action = objectOf(JSON.parse(json), "action");
  const type = action.type;
  if (typeof type !== "string" || !Object.hasOwn(KEYS, type)) throw refuse(`action.type must be one of ${Object.keys(KEYS).join(", ")}`);
  onlyKeys(action, KEYS[type as Action["type"]]!, `a ${type} action`);
  const chatId = chatIdOf(action.chatId);
  if (text !== undefined && type !== "reply" && type !== "send") throw refuse(`a ${type} action takes no text argument`);
  switch (type as Action["type"]) {
    case "reply": {
      const file = fileOf(action.file);
      return { type: "reply", chatId, inReplyTo: messageIdOf(action.inReplyTo, "action.inReplyTo"), text: messageTextOf(action, text), ...(file ? { file } : {}) };
    }
    case "send": {
      const file = fileOf(action.file);
      return { type: "send", chatId, text: messageTextOf(action, text), ...(file ? { file } : {}) };
    }
    case "webxdc-status":
      return { type: "webxdc-status", chatId, instanceId: messageIdOf(action.instanceId, "action.instanceId"), update: updateOf(action.update) };
    case "delete":
      return { type: "delete", chatId, messageId: messageIdOf(action.messageId, "action.messageId") };
    case "resend":
      return { type: "resend", chatId, messageId: messageIdOf(action.messageId, "action.messageId") };
    case "react":
      return { type: "react", chatId, messageId: messageIdOf(action.messageId, "action.messageId"), emoji: emojiOf(action.emoji) };
    case "add-member":
      if (!GROUP_CHAT_ID.test(chatId)) throw refuse('action.chatId of add-member must be a group chat id "group:<id>"');
      return { type: "add-member", chatId, addr: addrOf(action.addr) };
  }
}
