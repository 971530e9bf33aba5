// chatbot/std — the library a bot imports. It runs inside the sandbox; see README "API reference".
export { defineBot, type BotDefinition } from "./define-bot.js";
export { BotError } from "./host.js";
export type {
  Address,
  Attachment,
  Bot,
  BotHandlers,
  BotWebxdc,
  BotState,
  ChatRef,
  Command,
  FetchHeaders,
  FetchInit,
  FetchResponse,
  FileInput,
  LogLevel,
  Message,
  OutgoingMessage,
  OutgoingWebxdcUpdate,
  Tick,
  WebxdcUpdate,
} from "./types.js";
