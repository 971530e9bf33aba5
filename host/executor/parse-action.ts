// Validation of the actions a guest emits. A hostile bot calls the bridge directly with any JSON,
// so nothing is trusted because std would not send it: every field is type- and size-checked, no
// unknown key passes, and the result is a fresh object holding only the checked fields.
import * as v from "valibot";
import type { Action, OutgoingFile } from "../../std/contract.js";
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
const WEBXDC_MIME_TYPE = "application/webxdc+zip";

// RFC 5322 §3.6.4 msg-id as the composer writes it: printable ASCII without spaces or "<" ">" inside.
const MESSAGE_ID = /^<[!-;=?-~]+>$/;
// Chat ids are addresses or "group:<id>": printable ASCII, no spaces.
const CHAT_ID = /^[!-~]+$/;
// Group chat ids as host/wire/inbound.ts makes them: "group:" and core's group id alphabet.
const GROUP_CHAT_ID = /^group:[A-Za-z0-9_-]+$/;
// A reaction is the body of a text part: no control characters (no line breaks).
const NO_CONTROLS = /^[^\x00-\x1f\x7f]*$/;

const refuse = (message: string) => new GuestRefusal("E_ACTION", message);

const CHAT_ID_MESSAGE = `action.chatId must be a non-empty chat id (no spaces) of at most ${CHAT_ID_MAX_CHARS} characters`;
const TEXT_MESSAGE = "action.text must be a string";
const BOTH_TEXTS_MESSAGE = "action.text was given both in the JSON and as the text argument";
const FILE_MESSAGE = "action.file must be { name, type }";
const FILE_NAME_MESSAGE = `action.file.name must be a non-empty file name of at most ${FILE_NAME_MAX_BYTES} bytes (UTF-8)`;
const FILE_TYPE_MESSAGE = `action.file.type must be a MIME type "type/subtype" of at most ${FILE_TYPE_MAX_CHARS} characters`;
const UPDATE_MESSAGE = "action.update must be an object";
const PAYLOAD_MESSAGE = "action.update.payload is required (any JSON value, null included)";
const EMOJI_MESSAGE = `action.emoji must be a string without control characters of at most ${REACTION_MAX_BYTES} bytes ("" removes the reaction)`;
const ADDR_MESSAGE = `action.addr must be an email address "name@domain" of at most ${ADDR_MAX_CHARS} characters`;

/** A Message-ID field; `what` names it in the refusal. */
function messageId(what: string) {
  const message = messageIdMessage(what);
  return v.pipe(v.string(message), v.maxLength(MESSAGE_ID_MAX_CHARS, message), v.regex(MESSAGE_ID, message));
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

/** Refuse a key outside `keys` (before any field is checked), naming the first one. */
function knownKeysOnly(keys: readonly string[], what: string) {
  return v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const extra = Object.keys(dataset.value).find((key) => !keys.includes(key));
    if (extra !== undefined) addIssue({ message: `${what} has an unknown field "${extra.slice(0, 40)}" (allowed: ${keys.join(", ")})` });
  });
}

/** An object whose missing keys are refused with their field's own message. */
function fields<const E extends v.ObjectEntries>(entries: E, messages: Readonly<Record<string, string>>, notObject: string) {
  return v.object(entries, (issue) => {
    const missing = issue.path?.at(-1) as { origin?: string; key?: unknown } | undefined;
    return missing?.origin === "key" ? (messages[String(missing.key)] ?? notObject) : notObject;
  });
}

const chatIdSchema = v.pipe(
  v.string(CHAT_ID_MESSAGE),
  v.nonEmpty(CHAT_ID_MESSAGE),
  v.maxLength(CHAT_ID_MAX_CHARS, CHAT_ID_MESSAGE),
  v.regex(CHAT_ID, CHAT_ID_MESSAGE),
);

// Only name and type cross as JSON; size and data are filled in from the bytes by the recorder.
// Both must be strings before either is checked further.
const fileSchema = v.pipe(
  fields({ name: v.string(FILE_MESSAGE), type: v.string(FILE_MESSAGE) }, {}, FILE_MESSAGE),
  v.check(({ name }) => name !== "" && Buffer.byteLength(name, "utf8") <= FILE_NAME_MAX_BYTES, FILE_NAME_MESSAGE),
  v.check(({ type }) => type.length <= FILE_TYPE_MAX_CHARS && isMimeType(type), FILE_TYPE_MESSAGE),
  // core decides "webxdc app" by the .xdc name and the zip's index.html; the type must match (PROTOCOL §5).
  v.transform(({ name, type }): OutgoingFile => ({ name, type: /\.xdc$/i.test(name) ? WEBXDC_MIME_TYPE : type, size: 0, dataBase64: "" })),
);

/** An optional webxdc update text field of at most WEBXDC_FIELD_MAX_CHARS. */
function updateText(key: string) {
  const message = `action.update.${key} must be a string of at most ${WEBXDC_FIELD_MAX_CHARS} characters`;
  return v.optional(v.pipe(v.string(message), v.maxLength(WEBXDC_FIELD_MAX_CHARS, message)));
}

const updateEntries = {
  payload: v.unknown(),
  info: updateText("info"),
  summary: updateText("summary"),
  document: updateText("document"),
  href: updateText("href"),
};
const updateSchema = v.pipe(
  v.custom<Record<string, unknown>>((value) => typeof value === "object" && value !== null && !Array.isArray(value), UPDATE_MESSAGE),
  knownKeysOnly(Object.keys(updateEntries), "action.update"),
  fields(updateEntries, { payload: PAYLOAD_MESSAGE }, UPDATE_MESSAGE),
);

const emojiSchema = v.pipe(
  v.string(EMOJI_MESSAGE),
  v.regex(NO_CONTROLS, EMOJI_MESSAGE),
  v.check((emoji) => Buffer.byteLength(emoji, "utf8") <= REACTION_MAX_BYTES, EMOJI_MESSAGE),
);

const addrSchema = v.pipe(
  v.string(ADDR_MESSAGE),
  v.transform((addr) => addr.trim().toLowerCase()),
  v.maxLength(ADDR_MAX_CHARS, ADDR_MESSAGE),
  v.check(isCanonicalAddress, ADDR_MESSAGE),
);

/**
 * Each action's fields, in the order of the allowed-fields list a refusal shows. chatId is checked
 * before this (chatIdSchema) for every type; `text` depends on whether the emit call gave a text
 * argument (then the JSON must not hold one too).
 */
function actionSchemas(textArgument: boolean) {
  const text = textArgument ? v.optional(v.never(BOTH_TEXTS_MESSAGE)) : v.string(TEXT_MESSAGE);
  // A missing field is refused with the words of a wrong one.
  const missing = {
    text: TEXT_MESSAGE,
    inReplyTo: messageIdMessage("action.inReplyTo"),
    instanceId: messageIdMessage("action.instanceId"),
    messageId: messageIdMessage("action.messageId"),
    emoji: EMOJI_MESSAGE,
    addr: ADDR_MESSAGE,
    update: UPDATE_MESSAGE,
  };
  const reply = messageId("action.inReplyTo");
  const instance = messageId("action.instanceId");
  const message = messageId("action.messageId");
  return {
    reply: fields({ type: v.literal("reply"), chatId: v.string(), inReplyTo: reply, text, file: v.optional(fileSchema) }, missing, "action must be an object"),
    send: fields({ type: v.literal("send"), chatId: v.string(), text, file: v.optional(fileSchema) }, missing, "action must be an object"),
    "webxdc-status": fields(
      { type: v.literal("webxdc-status"), chatId: v.string(), instanceId: instance, update: updateSchema },
      missing,
      "action must be an object",
    ),
    delete: fields({ type: v.literal("delete"), chatId: v.string(), messageId: message }, missing, "action must be an object"),
    resend: fields({ type: v.literal("resend"), chatId: v.string(), messageId: message }, missing, "action must be an object"),
    react: fields({ type: v.literal("react"), chatId: v.string(), messageId: message, emoji: emojiSchema }, missing, "action must be an object"),
    "add-member": fields(
      {
        type: v.literal("add-member"),
        chatId: v.pipe(v.string(), v.regex(GROUP_CHAT_ID, 'action.chatId of add-member must be a group chat id "group:<id>"')),
        addr: addrSchema,
      },
      missing,
      "action must be an object",
    ),
  } as const satisfies Record<Action["type"], v.GenericSchema>;
}

/** The refusal message of a Message-ID field (also when it is missing). */
function messageIdMessage(what: string): string {
  return `${what} must be a Message-ID "<id@domain>" of at most ${MESSAGE_ID_MAX_CHARS} characters`;
}

// Built once: a text argument or not, per action type.
const SCHEMAS = { withText: actionSchemas(true), withoutText: actionSchemas(false) };
/** The fields each action type allows, in the order a refusal lists them. */
const KEYS = {} as Record<Action["type"], readonly string[]>;
for (const [type, schema] of Object.entries(SCHEMAS.withoutText)) KEYS[type as Action["type"]] = Object.freeze(Object.keys(schema.entries));
const FIRST_PROBLEM = { abortEarly: true } as const;

/**
 * The action in `json`, checked, with `text` (the emit call's text argument, if any) as a
 * message's text; refuses (E_ACTION, E_WEBXDC_TOO_LARGE) anything else. The JSON is checked in one
 * linear pass before JSON.parse builds it: V8 takes ~0.6 µs per nesting level. The checks stop at
 * the first problem, in this order: the type, unknown fields, chatId, a text argument where none
 * belongs, a message's file, then each field in the order of KEYS.
 */
export function parseAction(json: string, text?: string): Action {
  const shape = checkJsonText(json, ACTION_JSON_MAX_DEPTH);
  if (shape === "depth") throw refuse(`action JSON is nested more than ${ACTION_JSON_MAX_DEPTH} levels deep`);
  if (shape === "syntax") throw refuse("action is not valid JSON");
  const action: unknown = JSON.parse(json);
  if (typeof action !== "object" || action === null || Array.isArray(action)) throw refuse("action must be an object");
  const type = (action as Record<string, unknown>).type;
  if (typeof type !== "string" || !Object.hasOwn(KEYS, type)) throw refuse(`action.type must be one of ${Object.keys(KEYS).join(", ")}`);
  const allowed = KEYS[type as Action["type"]];
  const extra = Object.keys(action).find((key) => !allowed.includes(key));
  if (extra !== undefined) throw refuse(`a ${type} action has an unknown field "${extra.slice(0, 40)}" (allowed: ${allowed.join(", ")})`);
  const chatId = v.safeParse(chatIdSchema, (action as Record<string, unknown>).chatId, FIRST_PROBLEM);
  if (!chatId.success) throw refuse(CHAT_ID_MESSAGE);
  if (text !== undefined && type !== "reply" && type !== "send") throw refuse(`a ${type} action takes no text argument`);
  // A message's file is checked before its other fields, as it always was (the schema checks it again, in KEYS order).
  const file = (action as Record<string, unknown>).file;
  if (file !== undefined && (type === "reply" || type === "send")) {
    const checkedFile = v.safeParse(fileSchema, file, FIRST_PROBLEM);
    if (!checkedFile.success) throw refuse(checkedFile.issues[0].message);
  }
  const schemas = text === undefined ? SCHEMAS.withoutText : SCHEMAS.withText;
  const parsed = v.safeParse(schemas[type as Action["type"]], action, FIRST_PROBLEM);
  if (!parsed.success) throw refuse(parsed.issues[0].message);
  const checked = parsed.output;
  if (checked.type === "webxdc-status") {
    // The exact JSON the composer sends as status-update.json.
    const bytes = Buffer.byteLength(JSON.stringify({ updates: [checked.update] }), "utf8");
    if (bytes > WEBXDC_UPDATE_MAX_BYTES) {
      throw new GuestRefusal("E_WEBXDC_TOO_LARGE", `a webxdc update is at most ${WEBXDC_UPDATE_MAX_BYTES} bytes of JSON; this one is ${bytes}`);
    }
  }
  if ((checked.type === "reply" || checked.type === "send") && text !== undefined) return { ...checked, text };
  return checked as Action;
}
