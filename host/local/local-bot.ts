// A bot on the author's machine: build it, load its bundle, run events through the real sandbox
// with the limits its manifest asks for. Shared by `chatbot run` and `chatbot dev`.
import { readFile } from "node:fs/promises";
import { buildBot } from "../../bundler/build.js";
import { stackMapper } from "./stack-mapper.js";
import type { Manifest } from "../../core/manifest.js";
import type { GuestEvent } from "../../std/contract.js";
import { DEFAULT_EVENT_LIMITS, effectiveEventLimits, type EventLimits } from "../../core/limits.js";
import type { Executor } from "../executor/executor.js";
import type { RunRequest, RunResult } from "../executor/run-types.js";
import { runRequest } from "../executor/run-request.js";

/** A built bot ready to run. */
export interface LocalBot {
  manifest: Manifest;
  bundle: RunRequest["bundle"];
  limits: Readonly<EventLimits>;
  /** Rewrites bundle positions in a guest stack to the author's files. */
  mapStack: (stack: string) => string;
}

/** Build the bot in `dir` (esbuild, ~20 ms) and load its bundle. */
export async function buildLocalBot(dir: string): Promise<LocalBot> {
  const built = await buildBot(dir);
  const code = await readFile(built.bundlePath, "utf8");
  const mapStack = stackMapper(await readFile(built.sourceMapPath, "utf8"));
  const { perUser: _perUser, ...eventLimits } = built.manifest.limits;
  return {
    manifest: built.manifest,
    bundle: { id: built.sha256, code, filename: "bot.js" },
    limits: effectiveEventLimits(DEFAULT_EVENT_LIMITS, eventLimits),
    mapStack,
  };
}

/** Options of one local event. */
export interface LocalEventOptions {
  state: Record<string, string>;
  attachments?: Uint8Array[];
  /** Origins allowed on top of the manifest's (which a local run treats as approved). */
  extraOrigins?: readonly string[];
  allowHttpLoopback?: boolean;
  now?: () => number;
}

/** The address a local run pretends the bot has (only used to derive the Message-IDs it shows). */
export const LOCAL_BOT_ADDR = "bot@localhost";

/** The event key of a local event: the message's id, else the kind and the time. */
export function localEventKey(event: GuestEvent, nowMs: number): string {
  return event.kind === "message" ? event.message.id : `${event.kind}:${nowMs}`;
}

/** Run one event of a local bot in the sandbox. */
export async function runLocalEvent(executor: Executor, bot: LocalBot, event: GuestEvent, options: LocalEventOptions): Promise<RunResult> {
  const nowMs = (options.now ?? Date.now)();
  const result = await executor.run(
    runRequest(
      { bundle: bot.bundle, limits: bot.limits, origins: bot.manifest.origins },
      {
        event,
        ...(options.attachments ? { attachments: options.attachments } : {}),
        state: options.state,
        nowMs,
        botAddr: LOCAL_BOT_ADDR,
        eventKey: localEventKey(event, nowMs),
        ...(options.extraOrigins ? { extraOrigins: options.extraOrigins } : {}),
        fetch: { allowHttpLoopback: options.allowHttpLoopback ?? false },
      },
    ),
  );
  if (result.error?.stack) result.error = { ...result.error, stack: bot.mapStack(result.error.stack) };
  return result;
}

/** State file contents ({ key: any JSON }) → the executor's key → JSON text map. */
export function stateFromJson(value: unknown, file: string): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${file}: state must be a JSON object of key → value`);
  }
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, JSON.stringify(v)]));
}

/** The executor's state map → a plain object for a state file. */
export function stateToJson(state: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(state).map(([key, json]) => [key, JSON.parse(json) as unknown]));
}
