// The types a bot author works with (DESIGN §3.1). Plain data in, a small `bot` API out.
import type { Address, ChatRef, Command, AttachmentInfo, WebxdcUpdateData } from "./contract.js";

export type { Address, ChatRef, Command, LogLevel } from "./contract.js";

/** An attachment of an incoming message; `bytes()` reads its content on demand. */
export interface Attachment extends AttachmentInfo {
  bytes(): Promise<Uint8Array>;
}

/** An incoming chat message. */
export interface Message {
  /** The message's id (its Message-ID); what `reply` answers to. */
  id: string;
  /** The full text as sent (including any leading `/command`). */
  text: string;
  from: Address;
  chat: ChatRef;
  attachments: Attachment[];
  /** Set when the text starts with `/name`: e.g. `/remind 2h tea` → `{ name: "remind", args: "2h tea" }`. */
  command?: Command;
  /** Milliseconds since the epoch. */
  date: number;
}

/** A file to send: bytes, or a string that is sent as UTF-8. */
export interface FileInput {
  name: string;
  /** MIME type; guessed as application/octet-stream when missing. */
  type?: string;
  data: Uint8Array | ArrayBuffer | string;
}

/** What `reply` and `send` take: a text, or a text and/or a file. */
export type OutgoingMessage = string | { text?: string; file?: FileInput };

/** The bot's durable key/value state; values are JSON. Size is capped by the host's quota in bytes. */
export interface BotState {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

/** Options of `bot.fetch` (a subset of WHATWG RequestInit). */
export interface FetchInit {
  method?: string;
  headers?: Record<string, string> | Array<[string, string]>;
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

/** What a handler can do. Nothing else reaches the host. */
export interface Bot {
  /** Answer the message (or webxdc update) being handled, in its chat. */
  reply(message: OutgoingMessage): Promise<void>;
  /** Send into a chat by id; the host only delivers to chats that wrote to the bot. */
  send(chatId: string, message: OutgoingMessage): Promise<void>;
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
  message?(msg: Message, bot: Bot): Promise<void> | void;
  tick?(bot: Bot, tick: Tick): Promise<void> | void;
  webxdc?(update: WebxdcUpdate, bot: Bot): Promise<void> | void;
}
