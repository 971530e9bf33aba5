// Messages between the Executor (host), the runner child process and its sandbox Worker.
// bot.fetch crosses here (issue 12, part 1): the worker asks, the runner relays, the host performs
// the request under the event's policy and answers with the bounded response. The runner itself
// opens no socket, so it can live in a network namespace with nothing but `lo`.
import type { FetchRequestData, GuestErrorData } from "../../std/contract.js";
import type { BridgeFetchResult } from "./host-bridge.js";
import type { Bundle } from "./bundle-cache.js";
import type { RunRequest, RunResult } from "./run-types.js";
import type { StateChanges } from "./state-snapshot.js";

/** An event's request as it crosses to the runner: its state is left out when the runner holds it (stateToken; state-cache.ts). */
export type SentRequest = Omit<RunRequest, "state"> & { state?: RunRequest["state"] };

/** Runner → worker: run one event. */
export interface RunMessage {
  type: "run";
  id: number;
  request: SentRequest;
}

/** A bundle named without its code: the runner holds it (bundle-cache.ts). */
export type BundleRef = Omit<Bundle, "code">;

/** Host → runner: run one event; the bundle's code and the bot's state are left out when the runner holds them already. */
export interface RunFrame {
  type: "run";
  id: number;
  request: Omit<SentRequest, "bundle"> & { bundle: Bundle | BundleRef };
}

/** Runner → host: event `id` named a bundle the runner does not hold; the host sends it whole (once). */
export interface BundleMissingMessage {
  type: "bundle-missing";
  id: number;
}

/** Worker → runner → host: event `id` named a state (stateToken) the worker does not hold; the host sends it whole (once). */
export interface StateMissingMessage {
  type: "state-missing";
  id: number;
}

/** Worker → runner → host: the event's result. */
export interface ResultMessage {
  type: "result";
  id: number;
  result: RunResult;
  /** Why the worker threw its QuickJS module away after this event (a leak or trap, not the bot's doing). */
  sandboxReset?: string;
  /** The event ran in a QuickJS module instantiated for it: a new slot, or another bot's zeroed and recycled one (module-slot.ts). */
  freshModule?: true;
  /** The runner stopped the sandbox thread: the guest ran on after its interruption (INTERRUPTED_STOP_GRACE_MS). */
  guestStopped?: true;
  /**
   * What an ok event changed in the state, sent instead of the whole new state (result.state is
   * then null): the host applies it to the request's state. With a stateToken the worker keeps the
   * state after as `${stateToken}>${id}` (afterToken), and the host counts it held.
   */
  stateChanges?: StateChanges;
}

/** The token a worker keeps the state after event `id` under, when the event's request had `stateToken` (ResultMessage.stateChanges). */
export function afterToken(stateToken: string, id: number): string {
  return `${stateToken}>${id}`;
}

/** Runner → host: the worker died while running event `id` (it has been replaced). */
export interface CrashMessage {
  type: "crash";
  id: number;
  reason: string;
}

/**
 * Worker → runner: event `id` went over a budget and was told to stop (its outcome is this limit).
 * If its result does not follow within INTERRUPTED_STOP_GRACE_MS, the runner terminates the worker
 * and reports this ending itself.
 */
export interface InterruptedMessage {
  type: "interrupted";
  id: number;
  ending: Pick<RunResult, "status" | "limit" | "error">;
  /** The guest's CPU time when it was interrupted, ms. */
  cpuMs: number;
}

/** Worker → runner, once at start: the worker's thread id in /proc (undefined where there is none), for the CPU backstop. */
export interface ThreadMessage {
  type: "thread";
  tid: number | undefined;
}

/** Runner → host: the worker is up and the QuickJS WASM is compiled. */
export interface ReadyMessage {
  type: "ready";
}

/**
 * Worker → runner → host: event `id` asks for fetch number `fetchId` (the bridge already checked
 * the request's JSON and body sizes; the host checks the policy again, it trusts nothing here).
 */
export interface FetchStartMessage {
  type: "fetch";
  id: number;
  fetchId: number;
  request: FetchRequestData;
  body: Uint8Array | undefined;
}

/** Worker → runner → host: event `id` no longer waits for fetch `fetchId` (the event ended): abort it. */
export interface FetchCancelMessage {
  type: "fetch-cancel";
  id: number;
  fetchId: number;
}

/** Host → runner → worker: how fetch `fetchId` of event `id` ended; the body is at most the event's cap. */
export interface FetchAnswerMessage {
  type: "fetch-answer";
  id: number;
  fetchId: number;
  outcome: { value: BridgeFetchResult } | { error: GuestErrorData };
}

export type RunnerToHost = ResultMessage | CrashMessage | ReadyMessage | FetchStartMessage | FetchCancelMessage | BundleMissingMessage | StateMissingMessage;

export type HostToRunner = RunFrame | FetchAnswerMessage;
