// A RunResult as a test reads it: messages with their Message-IDs and decoded files, texts, and
// the error's stack in the author's files.
import { stableMessageId } from "../wire/message-id.js";
import type { RunResult } from "../executor/run-types.js";
import type { SentMessage, TestEventResult } from "./api.js";

/** What the result view needs besides the run: how the ids were seeded and how stacks map. */
export interface ResultContext {
  botAddr: string;
  eventKey: string;
  mapStack: (stack: string) => string;
}

/** The TestEventResult of one run. */
export function toTestResult(result: RunResult, context: ResultContext): TestEventResult {
  const messages: SentMessage[] = [];
  result.actions.forEach((action, index) => {
    if (action.type !== "reply" && action.type !== "send") return;
    messages.push({
      type: action.type,
      chatId: action.chatId,
      text: action.text,
      // The same id the bridge handed the bot for action `index` (host/executor/host-bridge.ts).
      id: stableMessageId(context.botAddr, context.eventKey, index),
      ...(action.file
        ? { file: { name: action.file.name, type: action.file.type, bytes: new Uint8Array(Buffer.from(action.file.dataBase64, "base64")) } }
        : {}),
    });
  });
  const error = result.error?.stack ? { ...result.error, stack: context.mapStack(result.error.stack) } : result.error;
  return {
    status: result.status,
    actions: result.actions,
    messages,
    texts: messages.map((m) => m.text),
    webxdc: result.actions.filter((a): a is Extract<typeof a, { type: "webxdc-status" }> => a.type === "webxdc-status"),
    logs: result.logs,
    ...(error ? { error } : {}),
    ...(result.limit ? { limit: result.limit } : {}),
    cpuMs: result.cpuMs,
    wallMs: result.wallMs,
    memoryBytes: result.memoryBytes,
    fetched: result.fetchedUrls ?? [],
  };
}
