// bot.fetch as the sandbox worker sees it (issue 12, part 1): a question to the host, which
// performs the request (host/fetch/event-fetches.ts) and answers over IPC. Nothing here opens a
// socket. A pending fetch costs the guest no CPU: the driver waits for it outside metered slices,
// and the event's wall budget still ends it (the signal aborts, the host is told to cancel).
import { ChatbotError } from "../../core/errors.js";
import type { FetchAnswerMessage, FetchCancelMessage, FetchStartMessage } from "./runner-protocol.js";
import { GuestRefusal } from "./guest-refusal.js";
import type { BridgeFetchResult } from "./host-bridge.js";
import type { IsolateFetch } from "./isolate-run.js";

/** The worker's fetches of all events: `forEvent` for the isolate, `answer` for the host's replies. */
export interface FetchOverIpc {
  /** The fetch event `id` hands to its isolate. */
  forEvent(id: number): IsolateFetch;
  /** A reply from the host; one for a fetch nobody waits for any more is dropped. */
  answer(message: FetchAnswerMessage): void;
}

/** Fetches that ask the host through `post` (the worker's parentPort). */
export function createFetchOverIpc(post: (message: FetchStartMessage | FetchCancelMessage) => void): FetchOverIpc {
  const waiting = new Map<number, { resolve: (result: BridgeFetchResult) => void; reject: (error: Error) => void }>();
  let nextFetchId = 1;
  return {
    forEvent: (id) => (request, body, signal) => {
      const fetchId = nextFetchId++;
      return new Promise<BridgeFetchResult>((resolve, reject) => {
        if (signal.aborted) return reject(new ChatbotError("E_FETCH_TIMEOUT", "fetch stopped: the event's wall-time budget ran out"));
        const onAbort = () => {
          if (!waiting.delete(fetchId)) return;
          post({ type: "fetch-cancel", id, fetchId });
          reject(new ChatbotError("E_FETCH_TIMEOUT", "fetch stopped: the event's wall-time budget ran out"));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiting.set(fetchId, {
          resolve: (result) => {
            signal.removeEventListener("abort", onAbort);
            resolve(result);
          },
          reject: (error) => {
            signal.removeEventListener("abort", onAbort);
            reject(error);
          },
        });
        post({ type: "fetch", id, fetchId, request, body });
      });
    },
    answer: (message) => {
      const waiter = waiting.get(message.fetchId);
      if (!waiter) return;
      waiting.delete(message.fetchId);
      if ("value" in message.outcome) waiter.resolve(message.outcome.value);
      else waiter.reject(new GuestRefusal(message.outcome.error.code, message.outcome.error.message));
    },
  };
}
