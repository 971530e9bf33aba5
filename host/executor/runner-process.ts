// The runner: a child process (node:child_process fork) that owns one sandbox Worker and relays
// messages between it and the host. If the Worker dies, the runner reports the event as crashed
// and starts a new Worker. The host kills the whole runner when an event overruns its wall time.
// An event that went over a budget but keeps running (the guest caught its interruption: QuickJS
// turns it into an ordinary rejection when it leaves an async function, and polls the interrupt
// only every ~10 000 ticks) is stopped here: INTERRUPTED_STOP_GRACE_MS after the worker said it
// was interrupted, the runner terminates the Worker (V8 stops WASM code at its loop checks) and
// reports the limit the event hit, instead of letting it run to the watchdog at wall + 1 s.
// A guest that never reaches a poll at all (one long built-in call, exceptions at the stack's
// limit) is stopped the same way by the CPU backstop: once the worker thread's CPU time in the
// event passes cpuMsPerEvent + CPU_BACKSTOP_GRACE_MS (worker-thread-cpu.ts reads it from outside).
import { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { CPU_BACKSTOP_GRACE_MS, CPU_BACKSTOP_POLL_MS, INTERRUPTED_STOP_GRACE_MS, STACK_WORKER_MB, type EventLimits } from "../../core/limits.js";
import { budgetEnding } from "./isolate-outcome.js";
import type { HostToRunner, InterruptedMessage, RunFrame, RunMessage, RunnerToHost, ThreadMessage } from "./runner-protocol.js";
import { BundleCache } from "./bundle-cache.js";
import { processCpuClock, type CpuClock } from "./thread-cpu-clock.js";
import { threadCpuReader } from "./worker-thread-cpu.js";
import { stoppedResult } from "./run-types.js";
import { readFrames, writeFrame } from "./message-frames.js";

// The host's channel (message-frames.ts): frames from the host on fd 3, to the host on fd 4.
const fromHost = new Socket({ fd: 3, readable: true, writable: false });
const toHost = new Socket({ fd: 4, readable: false, writable: true });
const send = (message: RunnerToHost) => writeFrame(toHost, message);
/** The event the worker is running: its id, when it was handed over, its CPU budget, and the timers watching it. */
interface CurrentEvent {
  id: number;
  startedAt: number;
  /** The worker thread's CPU clock when the event was handed over, ms. */
  cpuAtStart: number;
  limits: EventLimits;
  /** The CPU backstop's poll. */
  backstop: NodeJS.Timeout;
  /** Set once the event is being stopped (interrupted, or over the backstop). */
  stop?: NodeJS.Timeout;
}
let current: CurrentEvent | undefined;
/**
 * The current worker's CPU time, ms, once it told its thread id (undefined until then). A new
 * worker thread's clock starts at 0, so an event handed over before that counts from 0: its CPU
 * plus the thread's start (~tens of ms), never less than its own.
 */
let workerCpu: CpuClock | undefined;
let worker = startWorker();
/** The bundles this runner holds; the host keeps the same account of them (bundle-cache.ts). */
const bundles = new BundleCache();

function startWorker(): Worker {
  const started = new Worker(new URL("./sandbox-worker.js", import.meta.url), {
    resourceLimits: { stackSizeMb: STACK_WORKER_MB },
  });
  started.on("message", (message: RunnerToHost | InterruptedMessage | ThreadMessage) => {
    if (message.type === "thread") {
      workerCpu = threadCpuReader(message.tid);
      // No thread clock (not Linux): the process clock counts from now, not from 0.
      if (workerCpu === processCpuClock && current !== undefined) current.cpuAtStart = workerCpu();
      return;
    }
    if (message.type === "interrupted") return interrupted(message);
    // The worker lacks the event's state (it was replaced since it got it): the host sends it whole.
    if (message.type === "state-missing") {
      if (current?.id === message.id) {
        endCurrent();
        send(message);
      }
      return;
    }
    // The event's fetches go to the host, which performs them (this process has no network).
    if (message.type === "fetch" || message.type === "fetch-cancel") {
      if (current?.id === message.id) send(message);
      return;
    }
    if (message.type === "result" && current?.id === message.id) endCurrent();
    send(message);
  });
  started.on("error", (error) => crashed(error.message));
  started.on("exit", (code) => crashed(`sandbox worker exited with code ${code}`));
  return started;
}

/** The event in hand is over (its result came or is being sent): stop watching it. */
function endCurrent(): void {
  if (current === undefined) return;
  clearTimeout(current.stop);
  clearInterval(current.backstop);
  current = undefined;
}

/** The worker is gone (or must go): a fresh one takes the next event. */
function replaceWorker(): void {
  workerCpu = undefined;
  worker.removeAllListeners();
  worker.terminate().catch(() => undefined);
  worker = startWorker();
}

function crashed(reason: string) {
  if (current !== undefined) send({ type: "crash", id: current.id, reason });
  endCurrent();
  replaceWorker();
}

/**
 * The event went over a budget: give it INTERRUPTED_STOP_GRACE_MS to end, then stop it. The grace
 * is counted in the sandbox thread's CPU time, as every budget is: on a loaded machine a thread that
 * is ending normally (freeing a full heap) can wait longer than the grace for a core, and was then
 * stopped as if the bot had caught its interruption (seen in a loaded `make test`: a 20 MB emit,
 * guestsStopped 1). A thread that keeps running guest code uses the grace up in CPU and is stopped;
 * one that waits is left to end, within the host's wall-time watchdog. Without a thread clock the
 * grace is wall time, as before.
 */
function interrupted(message: InterruptedMessage): void {
  const event = current;
  if (!event || event.id !== message.id || event.stop) return;
  const interruptedAt = performance.now();
  const clock = workerCpu;
  const cpuAtInterrupt = clock?.();
  const stop = () => {
    const now = performance.now();
    // It kept running guest code after the interruption: all of it is the bot's, at most the wall time.
    const ranMs = clock && cpuAtInterrupt !== undefined ? clock() - cpuAtInterrupt : now - interruptedAt;
    const cpuMs = Math.min(now - event.startedAt, message.cpuMs + ranMs);
    stopGuest(
      event,
      message.ending,
      `the bot went on running after it was stopped (it caught the interruption), so its sandbox thread was stopped after ${INTERRUPTED_STOP_GRACE_MS} ms more`,
      cpuMs,
    );
  };
  const check = () => {
    if (current !== event) return;
    // The worker was replaced meanwhile (its clock is another thread's): wall time decides.
    if (!clock || cpuAtInterrupt === undefined || workerCpu !== clock || clock() - cpuAtInterrupt >= INTERRUPTED_STOP_GRACE_MS) return stop();
    event.stop = setTimeout(check, CPU_BACKSTOP_POLL_MS);
  };
  event.stop = setTimeout(check, INTERRUPTED_STOP_GRACE_MS);
}

/** The CPU backstop's poll: a guest past its CPU budget plus CPU_BACKSTOP_GRACE_MS is stopped now. */
function checkCpu(event: CurrentEvent): void {
  if (current !== event || event.stop || workerCpu === undefined) return;
  const cpuMs = workerCpu() - event.cpuAtStart;
  if (cpuMs <= event.limits.cpuMsPerEvent + CPU_BACKSTOP_GRACE_MS) return;
  stopGuest(
    event,
    budgetEnding(event.limits, undefined, "cpu")!,
    `the bot's code ran on inside one long operation where the budget is not checked (a built-in on a huge value, or errors thrown at the stack's limit), so its sandbox thread was stopped at ${Math.round(cpuMs)} ms of CPU`,
    cpuMs,
  );
}

/** Stop the sandbox thread running `event` and report `ending`, told why, as its result. */
function stopGuest(event: CurrentEvent, ending: InterruptedMessage["ending"], why: string, cpuMs: number): void {
  endCurrent();
  replaceWorker();
  const wallMs = Math.round(performance.now() - event.startedAt);
  const told = ending.error ? { ...ending, error: { ...ending.error, message: `${ending.error.message}; ${why}` } } : ending;
  send({ type: "result", id: event.id, result: stoppedResult(told, Math.round(cpuMs), wallMs), guestStopped: true });
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
  const run = withCode(message);
  if (run === undefined) {
    send({ type: "bundle-missing", id: message.id });
    return;
  }
  startEvent(run);
  worker.postMessage(run);
}

/** The event of `frame` with its bundle's code: as sent (and now held), or held since an earlier event. */
function withCode(frame: RunFrame): RunMessage | undefined {
  const named = frame.request.bundle;
  if ("code" in named) {
    bundles.put(named);
    return { ...frame, request: { ...frame.request, bundle: named } };
  }
  const held = bundles.take(named.id);
  if (held === undefined || held.filename !== named.filename) return undefined;
  return { ...frame, request: { ...frame.request, bundle: held } };
}
/** Watch the event the worker is handed: its start, and its worker thread's CPU time. */
function startEvent(message: RunMessage): void {
  const event: CurrentEvent = {
    id: message.id,
    startedAt: performance.now(),
    cpuAtStart: workerCpu?.() ?? 0,
    limits: message.request.limits,
    backstop: setInterval(() => checkCpu(event), CPU_BACKSTOP_POLL_MS),
  };
  current = event;
}

// The host went away: nothing left to do.
fromHost.on("end", () => process.exit(0));
fromHost.on("close", () => process.exit(0));
