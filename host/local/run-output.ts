// How a RunResult is shown to an author: JSON for scripts, files summarized (or saved), and
// the exit code that tells ok, bot error and limit hit apart.
import { createHash } from "node:crypto";
import type { Action } from "../../std/contract.js";
import type { RunResult } from "../executor/run-types.js";
import { EXIT } from "../cli/command.js";

/** An action as printed: file bytes replaced by their size and sha256 (use --files DIR to keep them). */
export function printableAction(action: Action): unknown {
  if ((action.type !== "reply" && action.type !== "send") || !action.file) return action;
  const { dataBase64, ...file } = action.file;
  const sha256 = createHash("sha256").update(Buffer.from(dataBase64, "base64")).digest("hex");
  return { ...action, file: { ...file, sha256 } };
}

/** The JSON `chatbot run` prints. */
export function printableResult(result: RunResult): unknown {
  return {
    status: result.status,
    actions: result.actions.map(printableAction),
    ...(result.error ? { error: result.error } : {}),
    ...(result.limit ? { limit: result.limit } : {}),
    logs: result.logs,
    cpuMs: result.cpuMs,
    wallMs: result.wallMs,
    memoryBytes: result.memoryBytes,
    fetch: result.fetch,
    stateChanged: result.state !== null,
  };
}

/** Exit code for a result: 0 ok, 1 bot error, 2 any limit hit. */
export function exitCodeFor(result: RunResult): number {
  if (result.status === "ok") return EXIT.ok;
  if (result.status === "bot-error") return EXIT.botError;
  return EXIT.limitHit;
}

/** One line on the event's cost and outcome, for people. */
export function costLine(result: RunResult): string {
  const memory = result.memoryBytes >= 1024 * 1024 ? `${(result.memoryBytes / 1024 / 1024).toFixed(1)} MiB` : `${(result.memoryBytes / 1024).toFixed(0)} KiB`;
  const limit = result.limit ? ` — limit ${result.limit.name} = ${result.limit.value} ${result.limit.unit}` : "";
  return `[${result.status}] cpu ${result.cpuMs.toFixed(1)} ms · wall ${result.wallMs.toFixed(1)} ms · memory ${memory}${limit}`;
}
