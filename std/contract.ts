// The host <-> guest contract: the one file both sides import (STYLE principle 2).
// Everything that crosses the isolate boundary is described here and is JSON-safe,
// except raw bytes, which cross as ArrayBuffer arguments next to a JSON string.
// This file must type-check with no Node or DOM types: it is compiled into bots.

/** Name of the global object the host installs in every isolate (its functions are below). */
export const HOST_GLOBAL = "__chatbotHost";
/** Name esbuild gives the bundle's namespace (format "iife", globalName). */
export const BUNDLE_GLOBAL = "__chatbotBundle";
/** Marker that `defineBot` puts on its result so the host can tell a bot from any other export. */
export const BOT_MARKER = "chatbot.bot/1";

/** A person or bot address as the sender's client shows it. */
export interface Address {
  addr: string;
  name: string;
}

/** The chat a message arrived in. `id` is stable for a chat and is what `bot.send` takes. */
export interface ChatRef {
  id: string;
  type: "single" | "group";
  name: string;
}

/** An attachment's metadata; its bytes are read on demand through `bytes()` in the guest. */
export interface AttachmentInfo {
  name: string;
  type: string;
  /** Size in bytes. */
  size: number;
}

/** A `/name args` command at the start of a message's text. */
export interface Command {
  name: string;
  args: string;
}

/** An incoming message as the host hands it to the guest (DESIGN §3.1), plain JSON data. */
export interface IncomingMessageData {
  id: string;
  text: string;
  from: Address;
  chat: ChatRef;
  attachments: AttachmentInfo[];
  command?: Command;
  /** Milliseconds since the epoch, from the mail's Date header (or arrival time). */
  date: number;
  /** Set when the message is a reaction: `emoji` ("" removes it) to the message `to` (a Message-ID). */
  reaction?: { emoji: string; to: string };
}

/** A webxdc status update sent by a user (handled fully by the wire layer). */
export interface WebxdcUpdateData {
  /** Message-ID of the webxdc instance the update belongs to. */
  instanceId: string;
  from: Address;
  chat: ChatRef;
  payload: unknown;
  info?: string;
  summary?: string;
}

/** What the host asks the guest to handle: exactly one per isolate. */
export type GuestEvent =
  | { kind: "message"; message: IncomingMessageData }
  | { kind: "tick"; at: number }
  | {
      kind: "webxdc";
      update: WebxdcUpdateData;
      /**
       * Further updates that came in the same mail (core batches updates sent in quick
       * succession): the handler runs for each, in order, after `update`, in the same event.
       */
      more?: WebxdcUpdateData[];
    };

export type GuestEventKind = GuestEvent["kind"];

/** A file the bot sends; bytes are base64 so the action stays JSON-safe on the host side. */
export interface OutgoingFile {
  name: string;
  type: string;
  /** Size in bytes of the decoded data. */
  size: number;
  dataBase64: string;
}

/**
 * A webxdc status update the bot sends (PROTOCOL §5). `payload` is any JSON; the other fields are
 * what core shows: `info` as an info message, `summary` below the app icon, `document` as its title,
 * `href` as the target of the info message.
 */
export interface WebxdcUpdateOut {
  payload: unknown;
  info?: string;
  summary?: string;
  document?: string;
  href?: string;
}

/**
 * Something the bot asked the host to do. Applied only if the whole event ends `ok`.
 * Message-IDs (`inReplyTo`, `instanceId`, `messageId`) are written with angle brackets: `<id@domain>`.
 * `delete` and `resend` only work for mails the bot itself sent recently into that same chat; the
 * host checks that when it applies the action and otherwise skips it (logged with a code).
 * `add-member` adds `addr` (lowercase) to the group `chatId` ("group:<id>"): one member-added message
 * to all members, the new one included. The host applies it only for a contact who wrote to the bot
 * 1:1 and has not sent /stop, whose key it knows, into a group the bot is in; otherwise it skips it.
 */
export type Action =
  | { type: "reply"; inReplyTo: string; chatId: string; text: string; file?: OutgoingFile }
  | { type: "send"; chatId: string; text: string; file?: OutgoingFile }
  | { type: "webxdc-status"; chatId: string; instanceId: string; update: WebxdcUpdateOut }
  | { type: "delete"; chatId: string; messageId: string }
  | { type: "resend"; chatId: string; messageId: string }
  | { type: "react"; chatId: string; messageId: string; emoji: string }
  | { type: "add-member"; chatId: string; addr: string };

export type ActionType = Action["type"];

/** Severity of a `bot.log` line. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** A guest-visible request of `bot.fetch` (a subset of WHATWG RequestInit). */
export interface FetchRequestData {
  url: string;
  method: string;
  headers: Array<[string, string]>;
}

/** What the host answers to a fetch; the body crosses as an ArrayBuffer beside it. */
export interface FetchResponseData {
  url: string;
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  redirected: boolean;
}

/**
 * An error as the guest sees it: a stable code and a message, never a host stack or path.
 * Codes beginning `E_LIMIT_` end the event with a limit status even if the bot catches them.
 */
export interface GuestErrorData {
  code: string;
  message: string;
}

/**
 * The property of an Error thrown by a host function that holds its GuestErrorData: the refusal
 * crosses as data, and std reads it from here, never by parsing the Error's message.
 */
export const REFUSAL_PROPERTY = "refusal";

/**
 * The functions behind `globalThis[HOST_GLOBAL]`. Strings are JSON text where noted.
 * On refusal, sync calls throw a guest Error whose `[REFUSAL_PROPERTY]` is the GuestErrorData
 * `{ code, message }`; its own message is `CODE: text`, for code that reads only messages.
 */
export interface HostFunctions {
  /** The event, as JSON text of `GuestEvent`. */
  event(): string;
  /**
   * Record an action (JSON text of `Action` without file data) with optional file bytes. A
   * reply's or send's text may cross as `text` beside the JSON instead of in it (std does so): the
   * host measures a string argument before it reads it, but must parse JSON to see inside it, so
   * the JSON is capped small (ACTION_JSON_MAX_CHARS) and the text only by actionBytesPerEvent.
   * Returns the Message-ID (with brackets) the action's mail will carry: stable, derived by the
   * host from the event and the action's index, so a retried event sends the same ids (for
   * `resend`, the id being resent).
   */
  emit(actionJson: string, fileBytes?: ArrayBuffer, text?: string): string;
  /** Append a log line. */
  log(level: LogLevel, text: string): void;
  /** The JSON text stored under key, or undefined. */
  stateGet(key: string): string | undefined;
  /** Store JSON text under key (throws on quota). */
  stateSet(key: string, json: string): void;
  stateDelete(key: string): void;
  /** JSON text of string[]. */
  stateKeys(): string;
  /** Milliseconds since the epoch from the host's clock (fake in tests). */
  now(): number;
  /** Bytes of the incoming message's attachment number `index`. */
  attachment(index: number): ArrayBuffer;
  /** UTF-8 bytes of a string (QuickJS has no TextEncoder). */
  utf8Encode(text: string): ArrayBuffer;
  /** A string from UTF-8 bytes; invalid sequences become U+FFFD. */
  utf8Decode(bytes: ArrayBuffer): string;
  /** Start a fetch; resolves to [FetchResponseData JSON, body] or rejects with an Error carrying its GuestErrorData, as sync calls throw. */
  fetch(requestJson: string, body?: ArrayBuffer): Promise<[string, ArrayBuffer]>;
}
