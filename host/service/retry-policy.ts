// What becomes of a spool entry whose attempt failed: another try after a backoff, or the
// dead-letter folder — decided from the failure table (failure-class.ts) and the attempts so far.
// Pure: no I/O, no clock of its own (the entry pipeline carries the decision out).
import { describeError } from "../../core/errors.js";
import { attemptsAllowed, classifyFailure, type FailureKind } from "./failure-class.js";

/** Delay before retry `attempt` (1-based), ms: 1 s, 5 s, 30 s, 2 min, 10 min, then hourly. */
export function backoffMs(attempt: number): number {
  const steps = [1_000, 5_000, 30_000, 120_000, 600_000];
  return steps[attempt - 1] ?? 3_600_000;
}

/** The outcome of a failed attempt; `attempts` counts it, `reason` is the error as the entry's lastError. */
export type RetryDecision =
  | { action: "retry"; kind: FailureKind; attempts: number; reason: string; nextAttemptAt: number }
  /** `text` is the dead letter's text after its code; `why` the table's reason for the code. */
  | { action: "dead-letter"; kind: FailureKind; attempts: number; reason: string; text: string; why: string };

/**
 * After an attempt failed with `error` (`attemptsBefore`: the entry's earlier failed attempts):
 * back off and retry, or dead-letter — what the failure table says for the error's code (settle
 * now, retry once, or retry up to `maxAttempts`, the host's setting). `now`: ms since the epoch.
 */
export function decideRetry(error: unknown, attemptsBefore: number, maxAttempts: number, now: number): RetryDecision {
  const attempts = attemptsBefore + 1;
  const reason = describeError(error);
  const failure = classifyFailure(error);
  if (attempts >= attemptsAllowed(failure.action, maxAttempts)) {
    return {
      action: "dead-letter",
      kind: failure.kind,
      attempts,
      reason,
      text: `after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${reason}`,
      why: failure.why,
    };
  }
  return { action: "retry", kind: failure.kind, attempts, reason, nextAttemptAt: now + backoffMs(attempts) };
}
