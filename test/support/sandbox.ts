// Test support: bundle a bot from source text and build run requests, so executor tests read as
// "this bot, this event → this result".
import { buildSync } from "esbuild";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { BUNDLE_GLOBAL, type Action, type AttachmentInfo, type GuestEvent } from "../../std/contract.js";
import { DEFAULT_EVENT_LIMITS, type EventLimits } from "../../core/limits.js";
import type { RunRequest, RunResult } from "../../host/executor/run-types.js";

const STD_ENTRY = fileURLToPath(new URL("../../std/index.ts", import.meta.url));

/** Bundle a bot's source (TypeScript, may import "chatbot/std") the way `chatbot build` does. */
export function bundleSource(source: string): RunRequest["bundle"] {
  const result = buildSync({
    stdin: { contents: source, loader: "ts", resolveDir: fileURLToPath(new URL(".", import.meta.url)), sourcefile: "bot.ts" },
    bundle: true,
    format: "iife",
    globalName: BUNDLE_GLOBAL,
    platform: "neutral",
    target: "es2022",
    alias: { "chatbot/std": STD_ENTRY },
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.text;
  return { id: createHash("sha256").update(code).digest("hex"), code, filename: "bot.js" };
}

/** A bot whose message handler is `body` (with `msg` and `bot` in scope). */
export function botWithMessageHandler(body: string): RunRequest["bundle"] {
  return bundleSource(`import { defineBot } from "chatbot/std";
export default defineBot({ async message(msg, bot) { ${body} } });`);
}

/** A message event from alice in a 1:1 chat. */
export function messageEvent(text: string, attachments: AttachmentInfo[] = []): GuestEvent {
  return {
    kind: "message",
    message: {
      id: "<m1@example.org>",
      text,
      from: { addr: "alice@example.org", name: "Alice" },
      chat: { id: "alice@example.org", type: "single", name: "Alice" },
      attachments,
      date: 1_700_000_000_000,
      ...(text.startsWith("/") ? { command: { name: text.slice(1).split(/\s+/)[0] ?? "", args: text.split(/\s+/).slice(1).join(" ") } } : {}),
    },
  };
}

/** A run request with default limits, overridable per test. */
export function request(bundle: RunRequest["bundle"], overrides: Partial<Omit<RunRequest, "limits">> & { limits?: Partial<EventLimits> } = {}): RunRequest {
  const { limits, ...rest } = overrides;
  return {
    bundle,
    event: messageEvent("hello"),
    attachments: [],
    state: {},
    nowMs: 1_700_000_000_000,
    fetch: { allowOrigins: [], allowHttpLoopback: false },
    messageIds: { botAddr: "bot@example.org", eventKey: "<m1@example.org>" },
    ...rest,
    limits: { ...DEFAULT_EVENT_LIMITS, ...limits },
  };
}

/** A reply or send action (the ones with text and an optional file). */
export type MessageAction = Extract<Action, { type: "reply" | "send" }>;

/** Action `index` of `result` as a reply/send, or undefined when there is none; throws for any other action type. */
export function messageAt(result: RunResult, index = 0): MessageAction | undefined {
  const action = result.actions[index];
  if (action === undefined) return undefined;
  if (action.type !== "reply" && action.type !== "send") throw new Error(`action ${index} is a ${action.type}, not a reply or send`);
  return action;
}
