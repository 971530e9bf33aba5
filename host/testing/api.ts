// The public shape of `chatbot/testing`: the test kit a bot author imports from vitest (or any
// test runner) in the bot's own repository. Types only; host/testing/test-bot.ts implements them.
// It runs the bot in the real sandbox (same executor and limits as the host) through the relay's
// rules (consent, per-user limits), with a fake clock, recorded fetch responses and in-memory
// state, and hands back the actions a relay would carry out.
import type { Action, Address, ChatRef } from "../../std/contract.js";
import type { LimitHit, LogEntry, RunError, RunStatus } from "../executor/run-types.js";
import type { RefusedAction, Refusal } from "../service/bot-policy.js";
import type { SkippedAction } from "../local/local-outbound.js";

/** A duration: ms as a number, or text such as "90s", "15m", "2h", "1d", "1h30m". */
export type Duration = number | string;

/** A fetch response the test recorded for a URL (exact match, query included). */
export interface RecordedResponse {
  status?: number;
  headers?: Record<string, string>;
  /** The body: text is sent as UTF-8. */
  body?: string | Uint8Array;
}

/** Options of `createTestBot`. */
export interface TestBotOptions {
  /** The bot's folder (with chatbot.json); a path or a file: URL. Default: process.cwd(). */
  dir?: string | URL;
  /** Start time of the fake clock, ms since the epoch (or an ISO date). Default 2025-01-01T10:00:00Z. */
  now?: number | string;
  /** Initial bot.state: key → any JSON value. */
  state?: Record<string, unknown>;
  /** Origins allowed on top of the manifest's `origins` (which the kit treats as approved). */
  allowOrigins?: string[];
  /** The bot's own address (used in Message-IDs and as the group member it is). Default "bot@example.org". */
  botAddr?: string;
  /**
   * Chats that wrote to the bot before the test (an address for a 1:1 chat; a group as in
   * MessageOptions.chat), as a relay's consent records would hold them: the bot may write to them
   * from the first event. Any other chat must write first, as on the relay.
   */
  knownChats?: Array<string | ChatRef>;
}

/** Who a simulated message comes from and where. */
export interface MessageOptions {
  /** Sender address or { addr, name }. Default "alice@example.org" ("Alice"). */
  from?: string | Address;
  /** The chat: default the sender's 1:1 chat. A string "group:<id>" or "Team" (a group of that name) or a ChatRef. */
  chat?: string | ChatRef;
  /** Files attached to the message. */
  files?: Array<{ name: string; type?: string; data: string | Uint8Array }>;
  /** Make it a reaction (`msg.reaction`) to the message `to`. */
  reaction?: { emoji: string; to: string };
  /** The message's Message-ID (default: generated, unique). */
  id?: string;
}

/** A simulated webxdc status update from a user. */
export interface WebxdcUpdateOptions {
  instanceId: string;
  payload: unknown;
  from?: string | Address;
  chat?: string | ChatRef;
  info?: string;
  summary?: string;
}

/** A reply or send, with its file decoded. */
export interface SentMessage {
  type: "reply" | "send";
  chatId: string;
  text: string;
  /** The Message-ID the bot got back from reply/send. */
  id: string;
  file?: { name: string; type: string; bytes: Uint8Array };
}

/**
 * What one simulated event produced, after the relay's rules (consent, the manifest's per-user
 * limits): the actions are those a relay would carry out.
 */
export interface TestEventResult {
  /** How the run ended, or "answered" when the host answered instead of running the bot (see `answer`). */
  status: RunStatus | "answered";
  /** The actions a relay would carry out, in order: those consent permits and its outbound rules do not skip. */
  actions: Action[];
  /**
   * The actions a relay's consent rules hold back, with the code the relay logs: E_NO_CONSENT (the
   * chat never wrote to the bot; see knownChats), E_STOPPED (the person sent /stop).
   */
  refused: RefusedAction[];
  /**
   * The actions a relay's outbound rules skip, with the code the relay logs: E_NOT_SENT /
   * E_OTHER_CHAT (a delete or resend of a message the bot did not send to that chat in this test
   * bot's life), E_ALREADY_MEMBER (add-member of someone already in the group), E_STOPPED (everyone who
   * wrote in the group sent /stop).
   */
  skipped: SkippedAction[];
  /**
   * When the bot did not run: /stop and /start are the host's, and over a per-user limit of the
   * manifest the host answers with one notice per window (`text` is "" after the first).
   */
  answer?: { text: string; reason: string; refusal: Refusal };
  /** The reply/send actions, file bytes decoded. */
  messages: SentMessage[];
  /** Just the texts of `messages`, in order: what most assertions need. */
  texts: string[];
  /** The webxdc status updates sent. */
  webxdc: Array<Extract<Action, { type: "webxdc-status" }>>;
  logs: LogEntry[];
  /** When the bot threw or hit a limit: the error, its stack mapped to the author's files. */
  error?: RunError;
  limit?: LimitHit;
  cpuMs: number;
  wallMs: number;
  memoryBytes: number;
  /** URLs the bot fetched (recorded or refused), in order. */
  fetched: string[];
}

/** The fake fetch: recorded responses by URL. Unrecorded URLs fail like an unreachable server. */
export interface TestFetch {
  /** Answer `url` with `response` (a string is a 200 text body) from now on. */
  on(url: string, response: RecordedResponse | string): void;
  /** Forget every recorded response. */
  clear(): void;
}

/** The fake clock the bot sees through `bot.now()` and ticks. */
export interface TestClock {
  now(): number;
  advance(by: Duration): void;
  set(at: number | string): void;
}

/** A bot under test. */
export interface TestBot {
  /**
   * Send a text message to the bot; resolves when the event has ended. `msg.text` is what a Delta
   * Chat client's message with this text reaches a relay's bot as (trailing whitespace and leading
   * empty lines removed); a reaction has no text.
   */
  message(text: string, options?: MessageOptions): Promise<TestEventResult>;
  /**
   * Deliver a mail (RFC 5322, plaintext, like sample.eml): parsed by the relay's own parser, so the
   * bot gets the `msg` (or webxdc update) a relay would hand it — Delta Chat's quote, footer and
   * forward header are not part of `msg.text`. A mail a relay drops without running the bot
   * (automatic response, deletion, group change) rejects with E_MAIL_DROPPED.
   */
  mail(raw: string | Uint8Array): Promise<TestEventResult>;
  /** Run the tick handler at the clock's current time. */
  tick(): Promise<TestEventResult>;
  /**
   * Advance the clock by `by`, running the tick handler at every hourly (or daily, per the
   * manifest's schedule) boundary passed, like the host would. Resolves to the ticks' results.
   */
  advance(by: Duration): Promise<TestEventResult[]>;
  /** Deliver a webxdc status update to the bot. */
  webxdc(update: WebxdcUpdateOptions): Promise<TestEventResult>;
  /** The bot's state: plain JSON values, changed only by events that ended ok (like the host). */
  state: {
    get<T = unknown>(key: string): T | undefined;
    set(key: string, value: unknown): void;
    /** Remove `key`. */
    delete(key: string): void;
    /** Remove every key (a fresh state, without building the bot again). */
    clear(): void;
    /** Every key and value. */
    all(): Record<string, unknown>;
  };
  fetch: TestFetch;
  clock: TestClock;
  /**
   * Done with this bot: call it in afterAll (or afterEach). Every test bot of a test process shares
   * one sandbox runner process (each event still gets a fresh isolate); it stops a second after the
   * last test bot closes.
   */
  close(): Promise<void>;
}
