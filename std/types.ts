// The types a bot author works with (DESIGN §3.1). Plain data in, a small `bot` API out.
import type { Address, ChatRef, Command, AttachmentInfo, WebxdcUpdateData, WebxdcUpdateOut } from "./contract.js";

export type { Address, ChatRef, Command, LogLevel } from "./contract.js";

/** An attachment of an incoming message; `bytes()` reads its content on demand. */
export interface Attachment extends AttachmentInfo {
  /** The file's content. Read only when called, so a bot that ignores files pays nothing. */
  bytes(): Promise<Uint8Array>;
}

/** An incoming chat message. */
export interface Message {
  /** The message's id (its Message-ID); what `reply` answers to. */
  id: string;
  /** The full text as sent (including any leading `/command`). */
  text: string;
  /** Who sent it. */
  from: Address;
  /** The chat it arrived in: a 1:1 chat (id = the sender's address) or a group ("group:…"). */
  chat: ChatRef;
  /** Files sent with it (at most a few; see README "Limits" for the byte caps). */
  attachments: Attachment[];
  /** Set when the text starts with `/name`: e.g. `/remind 2h tea` → `{ name: "remind", args: "2h tea" }`. */
  command?: Command;
  /** Milliseconds since the epoch. */
  date: number;
  /** Set when the message is a reaction: `emoji` ("" removes it) to the message `to` (a Message-ID). */
  reaction?: { emoji: string; to: string };
}

/** A file to send: bytes, or a string that is sent as UTF-8. */
export interface FileInput {
  /** The file name the recipient sees; `*.xdc` is sent as a webxdc app. */
  name: string;
  /** MIME type; guessed as application/octet-stream when missing. */
  type?: string;
  /** The content: bytes, or a string sent as UTF-8. */
  data: Uint8Array | ArrayBuffer | string;
}

/** What `reply` and `send` take: a text, or a text and/or a file. */
export type OutgoingMessage = string | { text?: string; file?: FileInput };

/** The bot's durable key/value state; values are JSON. Size is capped by the host's quota in bytes. */
export interface BotState {
  /** The value stored under `key`, or undefined. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Store a JSON value under `key`. Over the state quota (`stateBytes`) the event ends with that limit, even if the bot catches the error. Kept only if the handler ends without error. */
  set(key: string, value: unknown): Promise<void>;
  /** Remove `key`. */
  delete(key: string): Promise<void>;
  /** Every key. */
  keys(): Promise<string[]>;
}

/** Options of `bot.fetch` (a subset of WHATWG RequestInit). */
export interface FetchInit {
  /** HTTP method, default GET. */
  method?: string;
  /** Request headers. */
  headers?: Record<string, string> | Array<[string, string]>;
  /** Request body: text is sent as UTF-8. */
  body?: string | Uint8Array | ArrayBuffer;
}

/** Response headers, read-only. */
export interface FetchHeaders {
  get(name: string): string | null;
  has(name: string): boolean;
  entries(): Array<[string, string]>;
}

/** The response of `bot.fetch` (a subset of WHATWG Response). */
export interface FetchResponse {
  ok: boolean;
  status: number;
  statusText: string;
  url: string;
  redirected: boolean;
  headers: FetchHeaders;
  text(): Promise<string>;
  json<T = unknown>(): Promise<T>;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
}

/**
 * A webxdc status update to send: `payload` is any JSON value (null included) the app receives;
 * `info` is shown as an info message in the chat, `summary` below the app's icon, `document` as
 * its title, `href` is where the info message leads inside the app. At most 100 KiB of JSON.
 */
export type OutgoingWebxdcUpdate = WebxdcUpdateOut;

/** Webxdc apps in the chat: status updates from the bot. */
export interface BotWebxdc {
  /**
   * Send a status update to the app instance `instanceId` (the Message-ID of the message that
   * carried the `.xdc`; in a `webxdc` handler that is `update.instanceId`). `chatId` defaults to
   * the current event's chat. Refused with E_WEBXDC_TOO_LARGE over 100 KiB of JSON.
   */
  send(instanceId: string, update: OutgoingWebxdcUpdate, chatId?: string): Promise<void>;
}

/**
 * What a handler can do. Nothing else reaches the host. Every call is one action: the host
 * applies them (sends mails) only if the handler ends without error, and caps their number and
 * bytes per event.
 *
 * Message-IDs are strings with angle brackets, `"<id@domain>"`: what `reply`/`send` resolve to,
 * `Message.id`, `WebxdcUpdate.instanceId`. Keep the ones you need later in `bot.state`.
 */
export interface Bot {
  /**
   * Answer the message (or webxdc update) being handled, in its chat. Resolves to the Message-ID
   * the reply will carry (fixed now, sent when the handler has ended), for `deleteMessage`,
   * `react`, `resend` or `webxdc.send` later. A file named `*.xdc` (a zip with `index.html`) is
   * sent as a webxdc app, whatever its `type`.
   */
  reply(message: OutgoingMessage): Promise<string>;
  /** Send into a chat by id; the host only delivers to chats that wrote to the bot. Resolves to the Message-ID, like `reply`. */
  send(chatId: string, message: OutgoingMessage): Promise<string>;
  /** Status updates to webxdc apps. */
  webxdc: BotWebxdc;
  /**
   * Delete a message the bot itself sent, for everyone in the chat (`Chat-Delete`). Works for the
   * bot's messages of the last 7 days (at most the last 1000); `chatId` (default: the current
   * event's chat) must be the chat it was sent to. Anything else cannot be checked inside the
   * sandbox: the host skips the action and logs it with code E_NOT_SENT or E_OTHER_CHAT.
   */
  deleteMessage(messageId: string, chatId?: string): Promise<void>;
  /**
   * Send one of the bot's own recent messages again, byte for byte with the same Message-ID to
   * the same recipients (clients drop the copy if they already have it). Same rules as `deleteMessage`.
   */
  resend(messageId: string, chatId?: string): Promise<void>;
  /** React to a message with `emoji` ("" removes the bot's reaction); `chatId` defaults to the current event's chat. */
  react(messageId: string, emoji: string, chatId?: string): Promise<void>;
  /**
   * Add the person `addr` to the group `chatId` (a `"group:…"` id the bot is in): every member,
   * the new one too, gets a "member added" message from the bot. Resolves to its Message-ID, like
   * `reply`. Only for people who wrote to the bot in a 1:1 chat first and have not sent /stop (and
   * whose key the bot therefore has); the host checks that when the handler has ended and
   * otherwise skips the action and logs why (no consent, E_NO_KEY, E_NOT_IN_CHAT, E_ALREADY_MEMBER).
   */
  addToGroup(chatId: string, addr: string): Promise<string>;
  /** The bot's durable key/value state (survives between events; applied only when the handler ends without error). */
  state: BotState;
  /** Fetch from an origin the relay operator allowed for this bot. */
  fetch(url: string, init?: FetchInit): Promise<FetchResponse>;
  /** Write a line to the bot's log (`chatbot host logs`); objects are shown as JSON. */
  log(...values: unknown[]): void;
  /** Milliseconds since the epoch, from the host's clock. */
  now(): number;
}

/** A tick: the sparse schedule (`"schedule": "hourly"`) wakes the bot. */
export interface Tick {
  /** Milliseconds since the epoch when the tick was due. */
  at: number;
}

/** A webxdc status update from a user. */
export type WebxdcUpdate = WebxdcUpdateData;

/** The handlers of a bot; each is optional. */
export interface BotHandlers {
  /** A chat message (text, files, a reaction) from a person, 1:1 or in a group. */
  message?(msg: Message, bot: Bot): Promise<void> | void;
  /** The manifest's schedule ("hourly" or "daily") woke the bot; `bot.reply` is not available, use `bot.send`. */
  tick?(bot: Bot, tick: Tick): Promise<void> | void;
  /** A webxdc status update a person sent from an app the bot sent. */
  webxdc?(update: WebxdcUpdate, bot: Bot): Promise<void> | void;
}
