// How an event's outcome (service/event-pipeline.ts) is shown to an author: JSON for scripts, files
// summarized (or saved), and the exit code that tells ok, bot error and limit hit apart.
import { createHash } from "node:crypto";
import type { Action } from "../../std/contract.js";
import type { EventOutcome } from "../service/event-pipeline.js";
import type { LocalOutcome } from "./local-bot.js";
import { EXIT } from "../cli/command.js";

/** An action as printed: file bytes replaced by their size and sha256 (use --files DIR to keep them). */
function printableAction(action: Action): unknown {
  if ((action.type !== "reply" && action.type !== "send") || !action.file) return action;
  const { dataBase64, ...file } = action.file;
  const sha256 = createHash("sha256").update(Buffer.from(dataBase64, "base64")).digest("hex");
  return { ...action, file: { ...file, sha256 } };
}

/**
 * The JSON `chatbot run` prints. `actions` are those the relay would carry out; `refused` those
 * consent holds back (E_NO_CONSENT: the chat never wrote to the bot; E_STOPPED: it sent /stop);
 * `skipped` those the relay's outbound rules skip, with the code the relay logs. When the host
 * answers instead of the bot (/stop, /start, a per-user limit), `status` is "answered" with its reply.
 */
export function printableResult(outcome: LocalOutcome): unknown {
  if (outcome.kind === "answer") return { status: "answered", reply: outcome.text, reason: outcome.reason, refusal: outcome.refusal };
  if (outcome.kind === "defer") return { status: "deferred", reason: outcome.reason, until: outcome.until };
  const { result } = outcome;
  return {
    status: result.status,
    actions: outcome.kept.map(printableAction),
    ...(outcome.refused.length ? { refused: outcome.refused } : {}),
    ...(outcome.skipped.length ? { skipped: outcome.skipped } : {}),
    ...(result.error ? { error: result.error } : {}),
    ...(result.limit ? { limit: result.limit } : {}),
    logs: result.logs,
    cpuMs: result.cpuMs,
    wallMs: result.wallMs,
    memoryBytes: result.memoryBytes,
    fetch: result.fetch,
    stateChanged: outcome.state !== null,
  };
}

/** Exit code for an outcome: 0 ok (or the host answered), 1 bot error, 2 any limit hit. */
export function exitCodeFor(outcome: EventOutcome): number {
  if (outcome.kind !== "ran" || outcome.result.status === "ok") return EXIT.ok;
  if (outcome.result.status === "bot-error") return EXIT.botError;
  return EXIT.limitHit;
}

/** One line on the event's cost and outcome, for people (or why the bot did not run). */
export function costLine(outcome: EventOutcome): string {
  if (outcome.kind !== "ran") return `[${outcome.kind === "answer" ? "answered" : "deferred"}] the bot did not run: ${outcome.reason}`;
  const { result } = outcome;
  const memory = result.memoryBytes >= 1024 * 1024 ? `${(result.memoryBytes / 1024 / 1024).toFixed(1)} MiB` : `${(result.memoryBytes / 1024).toFixed(0)} KiB`;
  const limit = result.limit ? ` — limit ${result.limit.name} = ${result.limit.value} ${result.limit.unit}` : "";
  return `[${result.status}] cpu ${result.cpuMs.toFixed(1)} ms · wall ${result.wallMs.toFixed(1)} ms · memory ${memory}${limit}`;
}
