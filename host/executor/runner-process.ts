// The runner: a child process (node:child_process fork) that owns one sandbox Worker and relays
// messages between it and the host. If the Worker dies, the runner reports the event as crashed
// and starts a new Worker. The host kills the whole runner when an event overruns its wall time.
import { Worker } from "node:worker_threads";
import { STACK_WORKER_MB } from "../limits.js";
import type { RunMessage, RunnerToHost } from "./runner-protocol.js";

const send = (message: RunnerToHost) => process.send?.(message);
let current: number | undefined;
let worker = startWorker();

function startWorker(): Worker {
  const started = new Worker(new URL("./sandbox-worker.js", import.meta.url), {
    resourceLimits: { stackSizeMb: STACK_WORKER_MB },
  });
  started.on("message", (message: RunnerToHost) => {
    if (message.type === "result") current = undefined;
    send(message);
  });
  started.on("error", (error) => crashed(error.message));
  started.on("exit", (code) => crashed(`sandbox worker exited with code ${code}`));
  return started;
}

function crashed(reason: string) {
  if (current !== undefined) send({ type: "crash", id: current, reason });
  current = undefined;
  worker.removeAllListeners();
  worker.terminate().catch(() => undefined);
  worker = startWorker();
}

process.on("message", (message: RunMessage) => {
  current = message.id;
  worker.postMessage(message);
});
// The host went away: nothing left to do.
process.on("disconnect", () => process.exit(0));
