// One event of a bot through the host's rules, the same wherever it runs (issue 11, part 2): the
// relay (handle-mail.ts, which then composes encrypted mails and commits them), `chatbot run`/`dev`
// (local/local-bot.ts, which print the outcome and keep the state in a file or in memory) and the
// test kit (testing/test-bot.ts, which returns it). This is what makes a local result equal the
// relay's. In order:
//   admit   — a person's mail or webxdc update: /stop and /start are answered by the host
//             (consent), the bot's CPU budget (relay only) may defer it, a per-user limit answers
//             it with one notice per window; otherwise its chat is noted as one the bot may write
//             to. A tick meets only the CPU budget.
//   run     — in the sandbox, on the bot's state (executor/run-request.ts builds the request).
//   keep    — of an ok run, the actions consent permits; the rest are refusals. A failed run keeps
//             nothing (it has no actions).
//   deliver — the caller's step with the kept actions (the relay composes its mails here, before
//             counting, as it always has).
//   count   — the event's mail, bytes and CPU against the sender's limits (and the bot's budget).
//   settle  — the state to commit: the run's new state when it ended ok and changed it, else null.
// Without a policy (tests of the wire path alone) every step but run and settle is skipped.
import type { Action, GuestEvent } from "../../std/contract.js";
import type { Executor } from "../executor/executor.js";
import { runRequest, type EventInput, type RunnableBot } from "../executor/run-request.js";
import type { RunResult } from "../executor/run-types.js";
import type { StateChanges } from "../executor/state-snapshot.js";
import { gateEvent, permittedActions, recordEvent, type EventPolicy, type GateDecision, type RefusedAction } from "./bot-policy.js";

/** A bot as the pipeline runs it: its code and limits, its address (Message-ID seed), its clock and its state. */
export interface PipelineBot extends RunnableBot {
  addr: string;
  /** The clock an event starts at, ms since the epoch. */
  now(): number;
  /**
   * The bot's state before an event: key → JSON text (read only once the event is admitted), and
   * the token that names it (RunRequest.stateToken) when the bot keeps one.
   */
  loadState(): Promise<{ state: Record<string, string>; token?: string }>;
}

/** One event, without what the bot supplies (state, clock, address). */
export type PipelineEvent = Omit<EventInput, "state" | "stateToken" | "nowMs" | "botAddr">;

/** Who an event comes from, as the rules see it; a tick has none. */
export interface EventOrigin {
  /** The sender's address (the relay's: the verified From). */
  sender: string;
  /** The chat it came in: the sender's address for 1:1, "group:<id>" for a group. */
  chatId: string;
  /** The message's text (a webxdc update has none): /stop and /start are the host's. */
  text: string;
  /** Size of the incoming mail, bytes: counted against limits.perUser.bytesPerHour. */
  bytes: number;
}

/** The sandbox and the rules. */
export interface PipelineDeps {
  executor: Pick<Executor, "run">;
  /** Absent only in tests of the wire path alone. */
  policy?: EventPolicy | undefined;
}

/** A run and what the rules made of it. */
export interface RanEvent extends StateAfter {
  result: RunResult;
  /** The actions policy lets through, in order. */
  kept: Action[];
  /** The run's index of each kept action, which fixes its Message-ID (wire/message-id.ts). */
  indices: number[];
  /** The actions consent held back (no message from that chat, or it sent /stop). */
  refused: RefusedAction[];
  /** The state to commit: the new state of an ok run that changed it; null keeps the old one. */
  state: Record<string, string> | null;
}

/**
 * What goes with a new state to its save (bot-state-file.ts), as RunResult carries it: the token the
 * runner that ran the event holds it under, and what the event changed to make it.
 */
export interface StateAfter {
  stateToken?: string;
  stateChanges?: StateChanges;
}

/** The StateAfter fields `from` has (absent ones left out, never undefined). */
export function stateAfterOf(from: StateAfter): StateAfter {
  return {
    ...(from.stateToken !== undefined ? { stateToken: from.stateToken } : {}),
    ...(from.stateChanges !== undefined ? { stateChanges: from.stateChanges } : {}),
  };
}

/** The end of an event: it ran, or the host answered instead of the bot, or it must wait. */
export type EventOutcome = ({ kind: "ran" } & RanEvent) | Exclude<GateDecision, { kind: "run" }>;

/** The transport's step between keeping and counting (the relay composes its mails); none locally. */
export type DeliverStep = (ran: Omit<RanEvent, "state" | keyof StateAfter>) => Promise<void>;

/** Who `event` comes from: `sender` is the relay's verified sender (default: the event's From); a tick has no origin. */
export function eventOrigin(event: GuestEvent, bytes: number, sender?: string): EventOrigin | undefined {
  switch (event.kind) {
    case "tick":
      return undefined;
    case "message":
      return { sender: sender ?? event.message.from.addr, chatId: event.message.chat.id, text: event.message.text, bytes };
    case "webxdc":
      return { sender: sender ?? event.update.from.addr, chatId: event.update.chat.id, text: "", bytes };
  }
}

/** May the event run now? (admit) Without a policy it always may. */
export async function admitEvent(policy: EventPolicy | undefined, origin: EventOrigin | undefined): Promise<GateDecision> {
  if (!policy) return { kind: "run" };
  if (origin) return gateEvent(policy, origin.sender, origin.chatId, origin.text, origin.bytes);
  const cpu = await policy.cpu?.check();
  return cpu && !cpu.allowed ? { kind: "defer", until: cpu.resumesAt, reason: `bot CPU budget ${cpu.limit} used up` } : { kind: "run" };
}

/** Run an admitted event, keep what consent permits, let `deliver` use it, count it, settle the state. */
export async function runAdmitted(
  bot: PipelineBot,
  input: PipelineEvent,
  deps: PipelineDeps,
  origin: EventOrigin | undefined,
  deliver?: DeliverStep,
): Promise<RanEvent> {
  const { policy } = deps;
  const { state, token } = await bot.loadState();
  const named = token !== undefined ? { stateToken: token } : {};
  const result = await deps.executor.run(runRequest(bot, { ...input, state, ...named, nowMs: bot.now(), botAddr: bot.addr }));
  const ok = result.status === "ok";
  const permitted = !ok
    ? { allowed: [], indices: [], refused: [] }
    : policy
      ? await permittedActions(policy, result.actions)
      : { allowed: result.actions, indices: result.actions.map((_, index) => index), refused: [] };
  const ran = { result, kept: permitted.allowed, indices: permitted.indices, refused: permitted.refused };
  await deliver?.(ran);
  if (policy) await recordEvent(policy, origin?.sender, origin?.bytes ?? 0, result.cpuMs);
  return { ...ran, state: ok ? result.state : null, ...(ok && result.state !== null ? stateAfterOf(result) : {}) };
}

/** One event through every step (admit, run, keep, deliver, count, settle). */
export async function processEvent(
  bot: PipelineBot,
  input: PipelineEvent,
  deps: PipelineDeps,
  origin: EventOrigin | undefined,
  deliver?: DeliverStep,
): Promise<EventOutcome> {
  const admission = await admitEvent(deps.policy, origin);
  if (admission.kind !== "run") return admission;
  return { kind: "ran", ...(await runAdmitted(bot, input, deps, origin, deliver)) };
}
