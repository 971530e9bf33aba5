// An event's outcome (service/event-pipeline.ts) as a test reads it: the actions a relay would
// carry out, their messages with Message-IDs and decoded files, texts, the refusals and skips, the host's
// answer when the bot did not run, and the error's stack in the author's files (local-bot.ts maps it).
import { stableMessageId } from "../wire/message-id.js";
import type { LocalOutcome } from "../local/local-bot.js";
import type { SentMessage, TestEventResult } from "./api.js";

/** What the result view needs besides the outcome: how the Message-IDs were seeded. */
export interface ResultContext {
  botAddr: string;
  eventKey: string;
}

/** The TestEventResult of one event. */
export function toTestResult(outcome: LocalOutcome, context: ResultContext): TestEventResult {
  if (outcome.kind !== "ran") {
    // The test kit has no CPU budget (it is the relay operator's), so a "defer" never comes here.
    const answer = outcome.kind === "answer" ? { answer: { text: outcome.text, reason: outcome.reason, refusal: outcome.refusal } } : {};
    return {
      status: "answered",
      ...answer,
      actions: [],
      refused: [],
      skipped: [],
      messages: [],
      texts: [],
      webxdc: [],
      logs: [],
      cpuMs: 0,
      wallMs: 0,
      memoryBytes: 0,
      fetched: [],
    };
  }
  const { result, kept, indices } = outcome;
  const messages: SentMessage[] = [];
  kept.forEach((action, position) => {
    if (action.type !== "reply" && action.type !== "send") return;
    messages.push({
      type: action.type,
      chatId: action.chatId,
      text: action.text,
      // The same id the bridge handed the bot for this action's index in the run (host/executor/host-bridge.ts).
      id: stableMessageId(context.botAddr, context.eventKey, indices[position]!),
      ...(action.file
        ? { file: { name: action.file.name, type: action.file.type, bytes: new Uint8Array(Buffer.from(action.file.dataBase64, "base64")) } }
        : {}),
    });
  });
  return {
    status: result.status,
    actions: kept,
    refused: outcome.refused,
    skipped: outcome.skipped,
    messages,
    texts: messages.map((m) => m.text),
    webxdc: kept.filter((a): a is Extract<typeof a, { type: "webxdc-status" }> => a.type === "webxdc-status"),
    logs: result.logs,
    ...(result.error ? { error: result.error } : {}),
    ...(result.limit ? { limit: result.limit } : {}),
    cpuMs: result.cpuMs,
    wallMs: result.wallMs,
    memoryBytes: result.memoryBytes,
    fetched: result.fetchedUrls ?? [],
  };
}
