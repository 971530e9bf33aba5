// The runner: a child process (node:child_process fork) that owns one sandbox Worker and relays
// messages between it and the host. If the Worker dies, the runner reports the event as crashed
// and starts a new Worker. The host kills the whole runner when an event overruns its wall time.
// An event that went over a budget but keeps running (the guest caught its interruption: QuickJS
// turns it into an ordinary rejection when it leaves an async function, and polls the interrupt
// only every ~10 000 ticks) is stopped here: INTERRUPTED_STOP_GRACE_MS after the worker said it
// was interrupted, the runner terminates the Worker (V8 stops WASM code at its loop checks) and
// reports the limit the event hit, instead of letting it run to the watchdog at wall + 1 s.
import { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { INTERRUPTED_STOP_GRACE_MS, STACK_WORKER_MB } from "../../core/limits.js";
import type { HostToRunner, InterruptedMessage, RunnerToHost } from "./runner-protocol.js";
import { stoppedResult } from "./run-types.js";
import { readFrames, writeFrame } from "./message-frames.js";

// The host's channel (message-frames.ts): frames from the host on fd 3, to the host on fd 4.
const fromHost = new Socket({ fd: 3, readable: true, writable: false });
const toHost = new Socket({ fd: 4, readable: false, writable: true });
const send = (message: RunnerToHost) => writeFrame(toHost, message);
/** The event the worker is running: its id, when it was handed over, and the stop timer once interrupted. */
let current: { id: number; startedAt: number; stop?: NodeJS.Timeout } | undefined;
let worker = startWorker();

function startWorker(): Worker {
  const started = new Worker(new URL("./sandbox-worker.js", import.meta.url), {
    resourceLimits: { stackSizeMb: STACK_WORKER_MB },
  });
  started.on("message", (message: RunnerToHost | InterruptedMessage) => {
    if (message.type === "interrupted") return interrupted(message);
    // The event's fetches go to the host, which performs them (this process has no network).
    if (message.type === "fetch" || message.type === "fetch-cancel") {
      if (current?.id === message.id) send(message);
      return;
    }
    if (message.type === "result" && current?.id === message.id) {
      clearTimeout(current.stop);
      current = undefined;
    }
    send(message);
  });
  started.on("error", (error) => crashed(error.message));
  started.on("exit", (code) => crashed(`sandbox worker exited with code ${code}`));
  return started;
}

/** The worker is gone (or must go): a fresh one takes the next event. */
function replaceWorker(): void {
  worker.removeAllListeners();
  worker.terminate().catch(() => undefined);
  worker = startWorker();
}

function crashed(reason: string) {
  if (current !== undefined) {
    clearTimeout(current.stop);
    send({ type: "crash", id: current.id, reason });
  }
  current = undefined;
  replaceWorker();
}

/** The event went over a budget: give it INTERRUPTED_STOP_GRACE_MS to end, then stop it. */
function interrupted(message: InterruptedMessage): void {
  const event = current;
  if (!event || event.id !== message.id || event.stop) return;
  const interruptedAt = performance.now();
  event.stop = setTimeout(() => {
    if (current !== event) return;
    current = undefined;
    replaceWorker();
    const now = performance.now();
    const wallMs = Math.round(now - event.startedAt);
    // The limit the event hit, told why it ended the way it did.
    const { ending } = message;
    const told = ending.error
      ? {
          ...ending,
          error: {
            ...ending.error,
            message: `${ending.error.message}; the bot went on running after it was stopped (it caught the interruption), so its sandbox thread was stopped ${INTERRUPTED_STOP_GRACE_MS} ms later`,
          },
        }
      : ending;
    // It kept running guest code the whole time after the interruption: all of it is the bot's, at most the wall time.
    const cpuMs = Math.min(wallMs, Math.round(message.cpuMs + (now - interruptedAt)));
    send({ type: "result", id: event.id, result: stoppedResult(told, cpuMs, wallMs), guestStopped: true });
  }, INTERRUPTED_STOP_GRACE_MS);
}

readFrames(fromHost, {
  // The host is trusted; what it sends is bounded by the event it describes.
  maxBytes: () => Number.MAX_SAFE_INTEGER,
  onMessage: (message) => received(message as HostToRunner),
  onError: () => process.exit(1),
});

function received(message: HostToRunner): void {
  if (message.type === "fetch-answer") {
    // An answer for an event that ended (or a worker that was replaced) is dropped by the worker.
    if (current?.id === message.id) worker.postMessage(message);
    return;
  }
  current = { id: message.id, startedAt: performance.now() };
  worker.postMessage(message);
}
// The host went away: nothing left to do.
fromHost.on("end", () => process.exit(0));
fromHost.on("close", () => process.exit(0));
