// bot.fetch in replay mode (the test kit, chatbot/testing) as an undici Dispatcher: the host's one
// guarded fetch (guest-fetch.ts) runs unchanged — method, headers, body size, scheme, mail ports,
// the origin allowlist on every hop, redirects, caps, deadlines — and only the answers come from
// responses the test recorded. Nothing here opens a socket. (It replaced replay-fetch.ts, which
// re-implemented those checks beside the real fetch: issue 12, part 1.)
import { STATUS_CODES } from "node:http";
import { Dispatcher } from "undici";
import { ChatbotError } from "../../core/errors.js";
import type { RecordedFetch } from "../executor/run-types.js";
import { recordingKey } from "./recording-key.js";

/** The legacy handler calls undici's request() makes (the ones MockAgent makes too). */
interface ReplayHandler {
  onConnect?(abort: (error?: Error) => void, context: unknown): void;
  onHeaders?(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean | undefined;
  onData?(chunk: Buffer): boolean | undefined;
  onComplete?(trailers: Buffer[]): void;
  onError?(error: Error): void;
}

/** Answers requests from `recorded` (exact URL after normalization); an unrecorded URL fails with E_FETCH_FAILED naming it. */
class ReplayDispatcher extends Dispatcher {
  private readonly byUrl: ReadonlyMap<string, RecordedFetch>;

  constructor(recorded: readonly RecordedFetch[]) {
    super();
    this.byUrl = new Map(recorded.map((r) => [recordingKey(r.url), r]));
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const replay = handler as ReplayHandler;
    const key = recordingKey(`${String(options.origin)}${options.path}`);
    const recording = this.byUrl.get(key);
    if (!recording) {
      const origin = new URL(key).origin;
      replay.onError?.(
        new ChatbotError(
          "E_FETCH_FAILED",
          `fetch from ${origin} failed: no recorded response for ${key} (tests never use the network); ` +
            `record one in the test with bot.fetch.on(${JSON.stringify(key)}, { status, headers, body })`,
        ),
      );
      return true;
    }
    let aborted = false;
    replay.onConnect?.(() => {
      aborted = true;
    }, null);
    if (aborted) return true;
    const headers: Buffer[] = [];
    for (const [name, value] of Object.entries(recording.headers)) headers.push(Buffer.from(name.toLowerCase()), Buffer.from(value));
    replay.onHeaders?.(recording.status, headers, () => undefined, STATUS_CODES[recording.status] ?? "");
    if (aborted) return true;
    if (options.method !== "HEAD") replay.onData?.(Buffer.from(recording.bodyBase64, "base64"));
    if (!aborted) replay.onComplete?.([]);
    return true;
  }

  override async close(): Promise<void> {}

  override async destroy(): Promise<void> {}
}

/** A Dispatcher that answers only from `recorded`, for the host's guarded fetch in replay mode. */
export function createReplayDispatcher(recorded: readonly RecordedFetch[]): Dispatcher {
  return new ReplayDispatcher(recorded);
}
