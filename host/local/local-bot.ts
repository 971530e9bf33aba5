// A bot on the author's machine: build it, load its bundle, run events through the relay's event
// pipeline and the real sandbox with the limits its manifest asks for. Shared by `chatbot run`,
// `chatbot dev` and the test kit.
import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { buildBot } from "../../bundler/build.js";
import { stackMapper } from "./stack-mapper.js";
import type { Manifest } from "../../core/manifest.js";
import type { GuestEvent } from "../../std/contract.js";
import {
  DEFAULT_EVENT_LIMITS,
  DEFAULT_PER_USER_LIMITS,
  effectiveEventLimits,
  effectivePerUserLimits,
  type EventLimits,
  type PerUserLimits,
} from "../../core/limits.js";
import type { Executor } from "../executor/executor.js";
import type { RunRequest } from "../executor/run-types.js";
import { eventOrigin, processEvent, type EventOutcome, type PipelineBot, type PipelineEvent, type RanEvent } from "../service/event-pipeline.js";
import type { LocalOutbound, SkippedAction } from "./local-outbound.js";
import type { EventPolicy } from "../service/bot-policy.js";

/** A built bot ready to run. */
export interface LocalBot {
  manifest: Manifest;
  bundle: RunRequest["bundle"];
  limits: Readonly<EventLimits>;
  /** The manifest's per-user limits under the default ceilings, as a relay with default host.json resolves them. */
  perUser: Readonly<PerUserLimits>;
  /** Rewrites bundle positions in a guest stack to the author's files. */
  mapStack: (stack: string) => string;
}

/** The last build of each folder in this process, with the size and mtime of every file it read. */
const lastBuilds = new Map<string, { stamps: string; inputs: string[]; bot: LocalBot }>();

/** Size and mtime (ms) of each file, "" for one that is gone: a change in any of them means a rebuild. */
async function stampsOf(paths: string[]): Promise<string> {
  const stats = await Promise.all(paths.map((path) => stat(path).catch(() => undefined)));
  return stats.map((s) => (s ? `${s.size}:${s.mtimeMs}` : "")).join(" ");
}

/**
 * Build the bot in `dir` (esbuild, ~20 ms wall and ~60 ms of esbuild's CPU) and load its bundle.
 * With `reuse`, a folder built before in this process whose input files all have the same size and
 * mtime is not built again: a bot's test file builds its folder for every test (the poll template:
 * 46 times), so `npm test` ran esbuild once per test.
 */
export async function buildLocalBot(dir: string, options: { reuse?: boolean } = {}): Promise<LocalBot> {
  const key = resolve(dir);
  const last = options.reuse ? lastBuilds.get(key) : undefined;
  if (last && (await stampsOf(last.inputs)) === last.stamps) return last.bot;
  const built = await buildFresh(dir);
  if (options.reuse) lastBuilds.set(key, built);
  return built.bot;
}

async function buildFresh(dir: string): Promise<{ stamps: string; inputs: string[]; bot: LocalBot }> {
  const built = await buildBot(dir);
  // Stamped before the bundle is read back: a file changed during the build makes the next call rebuild.
  const stamps = await stampsOf(built.inputs);
  const code = await readFile(built.bundlePath, "utf8");
  const mapStack = stackMapper(await readFile(built.sourceMapPath, "utf8"));
  const { perUser, ...eventLimits } = built.manifest.limits;
  const bot: LocalBot = {
    manifest: built.manifest,
    bundle: { id: built.sha256, code, filename: "bot.js" },
    limits: effectiveEventLimits(DEFAULT_EVENT_LIMITS, eventLimits),
    perUser: effectivePerUserLimits(DEFAULT_PER_USER_LIMITS, perUser),
    mapStack,
  };
  return { stamps, inputs: built.inputs, bot };
}

/** Options of one local event. */
export interface LocalEventOptions {
  /** The bot's state before the event: key → JSON text. */
  state: Record<string, string>;
  /** The session's consent and per-user usage (openLocalPolicy): kept across its events. */
  policy: EventPolicy;
  /** The session's view of the relay's sent and group stores: kept across its events. */
  outbound: LocalOutbound;
  /** The clock at the start of the event, ms since the epoch. */
  nowMs: number;
  /** Seed of the event's Message-IDs with `botAddr` (localEventKey). */
  eventKey: string;
  /** Default LOCAL_BOT_ADDR. */
  botAddr?: string;
  attachments?: Uint8Array[];
  /** Size of the incoming mail, bytes (default localMailBytes: its text's and files' bytes). */
  bytes?: number;
  /** Origins allowed on top of the manifest's (which a local run treats as approved). */
  extraOrigins?: readonly string[];
  /** Local and test settings of the fetch policy. */
  fetch?: PipelineEvent["fetch"];
  /** Test kit: `bot.now()` stays at `nowMs`. */
  freezeClock?: boolean;
}

/** The address a local run pretends the bot has (only used to derive the Message-IDs it shows). */
export const LOCAL_BOT_ADDR = "bot@localhost";

/** The event key of a local event: the message's id, else the kind and the time. */
export function localEventKey(event: GuestEvent, nowMs: number): string {
  return event.kind === "message" ? event.message.id : `${event.kind}:${nowMs}`;
}

/**
 * The bytes a local message counts against limits.perUser.bytesPerHour: its text's (UTF-8) and its
 * files', or a webxdc update's JSON. The relay counts the whole encrypted mail, a little more.
 */
function localMailBytes(event: GuestEvent, attachments: readonly Uint8Array[] = []): number {
  const files = attachments.reduce((sum, bytes) => sum + bytes.byteLength, 0);
  if (event.kind === "message") return Buffer.byteLength(event.message.text, "utf8") + files;
  if (event.kind === "webxdc") return Buffer.byteLength(JSON.stringify([event.update, ...(event.more ?? [])]), "utf8");
  return 0;
}

/**
 * An event's end on the author's machine: as on the relay (EventOutcome), and when it ran, `kept`
 * holds only what the relay's outbound rules let through; `skipped` the rest, with the relay's codes.
 */
export type LocalOutcome = Exclude<EventOutcome, { kind: "ran" }> | ({ kind: "ran" } & RanEvent & { skipped: SkippedAction[] });

/**
 * Run one event of a local bot through the relay's event pipeline (service/event-pipeline.ts):
 * consent and the per-user limits admit it, the sandbox runs it, consent keeps its actions, the
 * event is counted and its state settled — `chatbot run`, `chatbot dev` and the test kit — and then
 * the relay's outbound rules skip what the relay would skip (local-outbound.ts). A guest stack in
 * the outcome points into the author's files.
 */
export async function runLocalEvent(executor: Pick<Executor, "run">, bot: LocalBot, event: GuestEvent, options: LocalEventOptions): Promise<LocalOutcome> {
  const botAddr = options.botAddr ?? LOCAL_BOT_ADDR;
  const pipelineBot: PipelineBot = {
    bundle: bot.bundle,
    limits: bot.limits,
    origins: bot.manifest.origins,
    addr: botAddr,
    now: () => options.nowMs,
    loadState: async () => ({ state: options.state }),
  };
  const input: PipelineEvent = {
    event,
    ...(options.attachments ? { attachments: options.attachments } : {}),
    eventKey: options.eventKey,
    ...(options.freezeClock ? { freezeClock: true } : {}),
    ...(options.extraOrigins ? { extraOrigins: options.extraOrigins } : {}),
    fetch: { allowHttpLoopback: false, ...options.fetch },
  };
  const origin = eventOrigin(event, options.bytes ?? localMailBytes(event, options.attachments));
  // On the relay a group's members are recorded as its mail arrives, admitted or not (wire/group-updates.ts).
  options.outbound.noteIncoming(event);
  const outcome = await processEvent(pipelineBot, input, { executor, policy: options.policy }, origin);
  if (outcome.kind !== "ran") return outcome;
  if (outcome.result.error?.stack) outcome.result.error = { ...outcome.result.error, stack: bot.mapStack(outcome.result.error.stack) };
  const carried = await options.outbound.carryOut(outcome.kept, outcome.indices, {
    botAddr,
    eventKey: options.eventKey,
    now: options.nowMs,
    isStopped: (addr) => options.policy.consent.isStopped(addr),
  });
  return { ...outcome, ...carried };
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
