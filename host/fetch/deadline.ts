// One fetch's deadline: its own timeout, or the event's wall deadline (the executor's signal),
// whichever comes first. The abort reason is the error the bot will see.

import { ChatbotError } from "../../core/errors.js";

/** An abort signal for one fetch, and the function that releases its timer and listener. */
export interface FetchDeadline {
  readonly signal: AbortSignal;
  dispose(): void;
}

/** A signal that aborts with E_FETCH_TIMEOUT after `timeoutMs` ms or as soon as `outer` aborts. */
export function startFetchDeadline(timeoutMs: number, origin: string, outer?: AbortSignal): FetchDeadline {
  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(new ChatbotError("E_FETCH_TIMEOUT", `fetch from ${origin} stopped: the event's wall-time budget ran out`));
  const timer = setTimeout(() => controller.abort(new ChatbotError("E_FETCH_TIMEOUT", `fetch from ${origin} took longer than ${timeoutMs} ms`)), timeoutMs);
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener("abort", onOuterAbort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onOuterAbort);
    },
  };
}
