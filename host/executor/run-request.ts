// The one way a RunRequest is made (issue 11, part 2): the relay's mail and tick events
// (service/handle-mail.ts), `chatbot run`/`dev` (local/local-bot.ts) and the test kit
// (testing/test-bot.ts) all describe an event the same way, so a bot meets the same request —
// limits copied, origins de-duplicated, Message-ID seed — wherever it runs.
import type { GuestEvent } from "../../std/contract.js";
import type { EventLimits } from "../../core/limits.js";
import type { FetchPolicy, RunRequest } from "./run-types.js";

/** What every event of one bot shares: its code, its limits and the origins approved for its fetches. */
export interface RunnableBot {
  bundle: RunRequest["bundle"];
  limits: Readonly<EventLimits>;
  origins: readonly string[];
}

/** One event of that bot. */
export interface EventInput {
  event: GuestEvent;
  /** Bytes of the incoming message's attachments, by index (none for ticks). */
  attachments?: Uint8Array[];
  /** The bot's state before the event: key → JSON text. */
  state: Record<string, string>;
  /** Names that state (RunRequest.stateToken), when its owner keeps it under one. */
  stateToken?: string;
  /** The clock at the start of the event, ms since the epoch. */
  nowMs: number;
  /** Seed of the event's stable Message-IDs (RunRequest.messageIds). */
  botAddr: string;
  eventKey: string;
  /** Test kit: `bot.now()` stays at `nowMs`. */
  freezeClock?: boolean;
  /** Origins allowed besides the bot's own (`chatbot run --allow-origin`, a test's allowOrigins). */
  extraOrigins?: readonly string[];
  /** Test and local settings of the fetch policy; the relay passes none. */
  fetch?: Omit<Partial<FetchPolicy>, "allowOrigins">;
}

/** The executor's request for `input` on `bot`. */
export function runRequest(bot: RunnableBot, input: EventInput): RunRequest {
  return {
    bundle: bot.bundle,
    event: input.event,
    attachments: input.attachments ?? [],
    state: input.state,
    ...(input.stateToken !== undefined ? { stateToken: input.stateToken } : {}),
    limits: { ...bot.limits },
    nowMs: input.nowMs,
    ...(input.freezeClock ? { freezeClock: true } : {}),
    fetch: { allowHttpLoopback: false, ...input.fetch, allowOrigins: [...new Set([...bot.origins, ...(input.extraOrigins ?? [])])] },
    messageIds: { botAddr: input.botAddr, eventKey: input.eventKey },
  };
}
