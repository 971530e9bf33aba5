// The Worker thread that runs isolates. It exists for its stack: WASM recursion runs on Node's
// stack, and only a Worker's `resourceLimits.stackSizeMb` makes deep guest recursion end as a
// clean QuickJS "stack overflow" instead of a host RangeError (DESIGN §2, measured).
import { parentPort } from "node:worker_threads";
import { compileQuickJSWasm, createModuleSlot, slotMemoryExhausted, type ModuleSlot } from "./module-slot.js";
import { runInIsolate, type IsolateFetch } from "./isolate-run.js";
import { threadCpuClock } from "./thread-cpu-clock.js";
import { isIPv6 } from "node:net";
import { createGuestFetch } from "../fetch/guest-fetch.js";
import { createReplayFetch } from "../fetch/replay-fetch.js";
import { systemLookup, type Lookup } from "../fetch/guarded-connector.js";
import type { InterruptedMessage, RunMessage, ResultMessage } from "./runner-protocol.js";
import type { RunRequest } from "./run-types.js";
import { FETCH_MAX_REDIRECTS, fetchRequestBodyMaxBytes } from "../../core/limits.js";

const port = parentPort;
if (!port) throw new Error("sandbox-worker must run as a worker thread");

const wasm = compileQuickJSWasm();
// Made here, on the thread that runs the guest: it measures the CPU time of this thread only.
const cpuClock = threadCpuClock();
let slot: ModuleSlot | undefined;

/** DNS answers from a static map, falling back to the system resolver for other names. */
function staticLookup(hosts: Record<string, string[]>): Lookup {
  return async (hostname) => {
    const answers = hosts[hostname.toLowerCase()];
    if (!answers) return systemLookup(hostname);
    return answers.map((address) => ({ address, family: isIPv6(address) ? 6 : 4 }));
  };
}

/** A fetch for this event, built on first use and closed when the event ends. */
function eventFetch(request: RunRequest): { fetch: IsolateFetch; close: () => Promise<void>; urls?: string[] } {
  const { recorded } = request.fetch;
  if (recorded) {
    // Replay mode (tests): no network client is ever built for this event.
    const replay = createReplayFetch({
      allowOrigins: request.fetch.allowOrigins,
      allowHttpLoopback: request.fetch.allowHttpLoopback,
      recorded,
      maxResponseBytes: request.limits.fetchResponseBytes,
      maxRequestBytes: fetchRequestBodyMaxBytes(request.limits),
      maxRedirects: FETCH_MAX_REDIRECTS,
    });
    return { fetch: (req, body) => replay.fetch(req, body), close: replay.close, urls: replay.urls };
  }
  let client: ReturnType<typeof createGuestFetch> | undefined;
  const fetch: IsolateFetch = (req, body, signal) => {
    client ??= createGuestFetch({
      allowOrigins: request.fetch.allowOrigins,
      allowHttpLoopback: request.fetch.allowHttpLoopback,
      maxResponseBytes: request.limits.fetchResponseBytes,
      maxRequestBytes: fetchRequestBodyMaxBytes(request.limits),
      timeoutMs: request.limits.fetchTimeoutMs,
      maxRedirects: FETCH_MAX_REDIRECTS,
      ...(request.fetch.caPem ? { tls: { ca: request.fetch.caPem } } : {}),
      ...(request.fetch.hosts ? { lookup: staticLookup(request.fetch.hosts) } : {}),
    });
    return client.fetch(req, body, signal);
  };
  return { fetch, close: async () => client?.close() };
}

async function handle(message: RunMessage): Promise<ResultMessage> {
  const { request } = message;
  // A slot whose memory reached its cap is rebuilt (~0.7 ms): WASM memory never shrinks, and
  // "memory exhausted" must describe this event, not an earlier one.
  if (!slot || slot.memoryBytes !== request.limits.memoryBytes || slotMemoryExhausted(slot)) {
    slot = await createModuleSlot(wasm, request.limits.memoryBytes);
  }
  const fetcher = eventFetch(request);
  try {
    // Posted from inside the interrupt handler, while the guest may still be running: the runner's
    // own thread is free to act on it (runner-process.ts stops a guest that does not end).
    const onInterrupted = (ending: InterruptedMessage["ending"], cpuMs: number) =>
      port!.postMessage({ type: "interrupted", id: message.id, ending, cpuMs } satisfies InterruptedMessage);
    const outcome = await runInIsolate(slot, request, fetcher.fetch, cpuClock, onInterrupted);
    if (!outcome.slotHealthy) slot = undefined;
    const result = fetcher.urls ? { ...outcome.result, fetchedUrls: [...fetcher.urls] } : outcome.result;
    return { type: "result", id: message.id, result, ...(outcome.resetReason ? { sandboxReset: outcome.resetReason } : {}) };
  } finally {
    await fetcher.close().catch(() => undefined);
  }
}

// Events arrive one at a time (the Executor never sends a second before the first's result).
port.on("message", (message: RunMessage) => {
  handle(message).then(
    (result) => port.postMessage(result),
    (error: unknown) => {
      // A failure outside the guest's reach (e.g. the module could not be built): let the runner report it.
      slot = undefined;
      throw error;
    },
  );
});
port.postMessage({ type: "ready" });
