// Messages between the Executor (host), the runner child process and its sandbox Worker.
import type { RunRequest, RunResult } from "./run-types.js";

/** Host → runner → worker: run one event. */
export interface RunMessage {
  type: "run";
  id: number;
  request: RunRequest;
}

/** Worker → runner → host: the event's result. */
export interface ResultMessage {
  type: "result";
  id: number;
  result: RunResult;
  /** Why the worker threw its QuickJS module away after this event (a leak or trap, not the bot's doing). */
  sandboxReset?: string;
  /** The runner stopped the sandbox thread: the guest ran on after its interruption (INTERRUPTED_STOP_GRACE_MS). */
  guestStopped?: true;
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

/** Runner → host: the worker is up and the QuickJS WASM is compiled. */
export interface ReadyMessage {
  type: "ready";
}

export type RunnerToHost = ResultMessage | CrashMessage | ReadyMessage;
