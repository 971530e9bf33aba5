// chatbot/testing: test a bot from vitest (or any runner) in the bot's own repository.
// See README "Testing your bot". Nothing here depends on a test framework.
export { createTestBot } from "./test-bot.js";
export { parseDuration } from "./duration.js";
export type {
  Duration,
  MessageOptions,
  RecordedResponse,
  SentMessage,
  TestBot,
  TestBotOptions,
  TestClock,
  TestEventResult,
  TestFetch,
  WebxdcUpdateOptions,
} from "./api.js";
export type { Action, Address, ChatRef } from "../../std/contract.js";
export type { LimitHit, LogEntry, RunError, RunStatus } from "../executor/run-types.js";
export type { RefusedAction, Refusal } from "../service/bot-policy.js";
export type { ConsentCode } from "../policy/consent.js";
export type { SkippedAction } from "../local/local-outbound.js";
export type { SkipCode } from "../wire/skip-rules.js";
