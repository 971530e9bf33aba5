// The `bot` object handed to handlers: every method is a thin call into the host.
import type { Action, GuestEvent, HostFunctions, LogLevel } from "./contract.js";
import type { Bot, BotState, FileInput, OutgoingMessage } from "./types.js";
import { toArrayBuffer } from "./bytes.js";
import { asBotError } from "./host.js";
import { makeFetch } from "./fetch.js";

/** Render log arguments the way console.log would, objects as JSON. */
function formatLogValues(values: unknown[]): string {
  return values
    .map((value) => {
      if (typeof value === "string") return value;
      if (value instanceof Error) return `${value.name}: ${value.message}`;
      try {
        return JSON.stringify(value) ?? String(value);
      } catch {
        return String(value);
      }
    })
    .join(" ");
}

function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw asBotError(error);
  }
}

function splitMessage(message: OutgoingMessage): { text: string; file?: FileInput } {
  if (typeof message === "string") return { text: message };
  if (message === null || typeof message !== "object") {
    throw new TypeError("reply/send take a string or { text?, file? }");
  }
  const text = message.text === undefined ? "" : String(message.text);
  if (message.file === undefined) return { text };
  return { text, file: message.file };
}

/**
 * Record an action; resolves to the Message-ID the host assigned to its mail. A message's text
 * crosses beside the action's JSON, as its file's bytes do (see HostFunctions.emit).
 */
function emit(host: HostFunctions, action: Action, file: FileInput | undefined): string {
  const { text, ...fields } = action as Action & { text?: string };
  if (!file) return call(() => host.emit(JSON.stringify(fields), undefined, text));
  if (typeof file.name !== "string" || file.name === "") throw new TypeError("file.name must be a non-empty string");
  const bytes = toArrayBuffer(host, file.data);
  const withFile = {
    ...fields,
    file: { name: file.name, type: file.type ?? "application/octet-stream", size: bytes.byteLength, dataBase64: "" },
  };
  return call(() => host.emit(JSON.stringify(withFile), bytes, text));
}

function messageIdArg(value: unknown, what: string): string {
  if (typeof value !== "string" || !/^<[^<>\s]+>$/.test(value)) throw new TypeError(`${what}: messageId must be a Message-ID string "<id@domain>"`);
  return value;
}

function makeState(host: HostFunctions): BotState {
  return {
    async get<T>(key: string) {
      const json = call(() => host.stateGet(String(key)));
      return json === undefined ? undefined : (JSON.parse(json) as T);
    },
    async set(key: string, value: unknown) {
      const json = JSON.stringify(value);
      if (json === undefined) throw new TypeError(`state.set("${key}"): value is not JSON (use delete to remove a key)`);
      call(() => host.stateSet(String(key), json));
    },
    async delete(key: string) {
      call(() => host.stateDelete(String(key)));
    },
    async keys() {
      return JSON.parse(call(() => host.stateKeys())) as string[];
    },
  };
}

/** Build the `bot` object for one event. */
export function makeBot(host: HostFunctions, event: GuestEvent): Bot {
  const origin =
    event.kind === "message"
      ? { chatId: event.message.chat.id, inReplyTo: event.message.id }
      : event.kind === "webxdc"
        ? { chatId: event.update.chat.id, inReplyTo: event.update.instanceId }
        : undefined;
  const log = (level: LogLevel, values: unknown[]) => call(() => host.log(level, formatLogValues(values)));
  /** The chat an action goes to: the one given, else the current event's. */
  const chatOf = (chatId: string | undefined, what: string): string => {
    if (chatId === undefined) {
      if (!origin) throw new TypeError(`${what}: pass a chatId (a tick has no current chat)`);
      return origin.chatId;
    }
    if (typeof chatId !== "string" || chatId === "") throw new TypeError(`${what}: chatId must be a non-empty string`);
    return chatId;
  };
  return {
    async reply(message) {
      if (!origin) throw new Error("bot.reply works in message and webxdc handlers; in tick use bot.send(chatId, …)");
      const { text, file } = splitMessage(message);
      return emit(host, { type: "reply", chatId: origin.chatId, inReplyTo: origin.inReplyTo, text }, file);
    },
    async send(chatId, message) {
      if (typeof chatId !== "string" || chatId === "") throw new TypeError("bot.send: chatId must be a non-empty string");
      const { text, file } = splitMessage(message);
      return emit(host, { type: "send", chatId, text }, file);
    },
    webxdc: {
      async send(instanceId, update, chatId) {
        const what = "bot.webxdc.send";
        if (update === null || typeof update !== "object") throw new TypeError(`${what}: update must be { payload, info?, summary?, document?, href? }`);
        if (update.payload === undefined) throw new TypeError(`${what}: update.payload is required (use null for "nothing")`);
        emit(host, { type: "webxdc-status", chatId: chatOf(chatId, what), instanceId: messageIdArg(instanceId, what), update }, undefined);
      },
    },
    async deleteMessage(messageId, chatId) {
      emit(host, { type: "delete", chatId: chatOf(chatId, "bot.deleteMessage"), messageId: messageIdArg(messageId, "bot.deleteMessage") }, undefined);
    },
    async resend(messageId, chatId) {
      emit(host, { type: "resend", chatId: chatOf(chatId, "bot.resend"), messageId: messageIdArg(messageId, "bot.resend") }, undefined);
    },
    async react(messageId, emoji, chatId) {
      if (typeof emoji !== "string") throw new TypeError('bot.react: emoji must be a string ("" removes the reaction)');
      emit(host, { type: "react", chatId: chatOf(chatId, "bot.react"), messageId: messageIdArg(messageId, "bot.react"), emoji }, undefined);
    },
    async addToGroup(chatId, addr) {
      const what = "bot.addToGroup";
      if (typeof chatId !== "string" || !chatId.startsWith("group:")) throw new TypeError(`${what}: chatId must be a group chat id "group:…"`);
      if (typeof addr !== "string" || !/^[^\s@<>]+@[^\s@<>]+$/.test(addr.trim())) throw new TypeError(`${what}: addr must be an email address`);
      return emit(host, { type: "add-member", chatId, addr: addr.trim().toLowerCase() }, undefined);
    },
    state: makeState(host),
    fetch: makeFetch(host),
    log: (...values) => log("info", values),
    now: () => host.now(),
  };
}

/** A `console` that writes to the bot's log, so familiar code works inside the sandbox. */
export function makeConsole(host: HostFunctions) {
  const to =
    (level: LogLevel) =>
    (...values: unknown[]) =>
      call(() => host.log(level, formatLogValues(values)));
  return { log: to("info"), info: to("info"), debug: to("debug"), warn: to("warn"), error: to("error") };
}
