// The Worker thread that runs isolates. It exists for its stack: WASM recursion runs on Node's
// stack, and only a Worker's `resourceLimits.stackSizeMb` makes deep guest recursion end as a
// clean QuickJS "stack overflow" instead of a host RangeError (DESIGN §2, measured).
import { parentPort } from "node:worker_threads";
import { compileQuickJSWasm, createModuleSlot, recycleModuleSlot, slotMemoryExhausted, type ModuleSlot } from "./module-slot.js";
import { runInIsolate } from "./isolate-run.js";
import { threadCpuClock } from "./thread-cpu-clock.js";
import { createFetchOverIpc } from "./fetch-over-ipc.js";
import { ownThreadId } from "./worker-thread-cpu.js";
import {
  afterToken,
  type FetchAnswerMessage,
  type InterruptedMessage,
  type RunMessage,
  type ResultMessage,
  type StateMissingMessage,
  type ThreadMessage,
} from "./runner-protocol.js";
import { StateCache } from "./state-cache.js";
import { StateSnapshot } from "./state-snapshot.js";

const port = parentPort;
if (!port) throw new Error("sandbox-worker must run as a worker thread");

const wasm = compileQuickJSWasm();
// Made here, on the thread that runs the guest: it measures the CPU time of this thread only.
const cpuClock = threadCpuClock();
let slot: ModuleSlot | undefined;
/** The bot whose events the slot's WASM memory has held (RunRequest.messageIds.botAddr). */
let slotBot: string | undefined;
/** The bots' states this thread holds between events; the host keeps the same account (state-cache.ts). */
const states = new StateCache<StateSnapshot>();
// bot.fetch is the host's to perform (issue 12): this thread only asks and waits.
const fetches = createFetchOverIpc((message) => port.postMessage(message));

/**
 * The state `message` starts from: as sent (and now held, with a stateToken), or held since an
 * earlier event of the bot under the same token; undefined when it named one this thread lacks.
 */
function stateOf(message: RunMessage): StateSnapshot | undefined {
  const { state, stateToken, messageIds } = message.request;
  if (state !== undefined) {
    const snapshot = StateSnapshot.of(state);
    if (stateToken !== undefined) states.put(messageIds.botAddr, stateToken, snapshot.chars, snapshot);
    return snapshot;
  }
  return stateToken === undefined ? undefined : states.take(messageIds.botAddr, stateToken);
}

async function handle(message: RunMessage): Promise<ResultMessage | StateMissingMessage> {
  const state = stateOf(message);
  if (state === undefined) return { type: "state-missing", id: message.id };
  const request = { ...message.request, state: {} };
  // A slot whose memory reached its cap is rebuilt (~0.7 ms): WASM memory never shrinks, and
  // "memory exhausted" must describe this event, not an earlier one. Another bot's event gets its
  // slot recycled (issue 12, lifetime): QuickJS frees a runtime's objects but leaves their bytes in
  // the module's linear memory, which a bug in QuickJS could let the next runtime read; recycling
  // zeroes every byte and instantiates the module anew on it (module-slot.ts). Events of one bot
  // share a slot: what they could find there is that bot's own.
  const bot = request.messageIds.botAddr;
  let fresh = false;
  if (!slot || slot.memoryBytes !== request.limits.memoryBytes || slotMemoryExhausted(slot)) {
    // Dropped first: the old memory's ~10 GiB reservation can then be collected if the new one
    // does not fit under the runner's address-space cap (core/limits.ts RunnerWallLimits).
    slot = undefined;
    slot = await createModuleSlot(wasm, request.limits.memoryBytes);
    fresh = true;
  } else if (slotBot !== bot) {
    slot = await recycleModuleSlot(wasm, slot);
    fresh = true;
  }
  slotBot = bot;
  // Posted from inside the interrupt handler, while the guest may still be running: the runner's
  // own thread is free to act on it (runner-process.ts stops a guest that does not end).
  const onInterrupted = (ending: InterruptedMessage["ending"], cpuMs: number) =>
    port!.postMessage({ type: "interrupted", id: message.id, ending, cpuMs } satisfies InterruptedMessage);
  const outcome = await runInIsolate(slot, request, fetches.forEvent(message.id), cpuClock, onInterrupted, state);
  if (!outcome.slotHealthy) slot = undefined;
  // Only what changed goes back; the state after is kept for the bot's next event (the host counts it held).
  const { stateChanges } = outcome;
  const after = stateChanges && outcome.result.state;
  if (after && request.stateToken !== undefined) {
    const snapshot = StateSnapshot.of(after);
    states.put(request.messageIds.botAddr, afterToken(request.stateToken, message.id), snapshot.chars, snapshot);
  }
  return {
    type: "result",
    id: message.id,
    result: stateChanges ? { ...outcome.result, state: null } : outcome.result,
    ...(stateChanges ? { stateChanges } : {}),
    ...(outcome.resetReason ? { sandboxReset: outcome.resetReason } : {}),
    ...(fresh ? { freshModule: true } : {}),
  };
}

// Events arrive one at a time (the Executor never sends a second before the first's result).
port.on("message", (message: RunMessage | FetchAnswerMessage) => {
  if (message.type === "fetch-answer") return fetches.answer(message);
  handle(message).then(
    (result) => port.postMessage(result),
    (error: unknown) => {
      // A failure outside the guest's reach (e.g. the module could not be built): let the runner report it.
      slot = undefined;
      throw error;
    },
  );
});
// Before "ready": the runner watches this thread's CPU time from outside (runner-process.ts).
port.postMessage({ type: "thread", tid: ownThreadId() } satisfies ThreadMessage);
port.postMessage({ type: "ready" });
