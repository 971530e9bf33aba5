// The host's side of one event's bot.fetch calls (issue 12, part 1): the runner asks over IPC, this
// performs the request with the guarded undici fetch (or the test kit's replay) under the event's
// policy, caps and timeouts, and answers with the bounded response. Every request still running
// when the event ends, its runner dies or the watchdog kills it is aborted here, which closes its
// socket: nothing the host does for a bot outlives the bot's event.
import { isIPv6 } from "node:net";
import type { Dispatcher } from "undici";
import { guestFacingError } from "../../core/errors.js";
import { FETCH_MAX_REDIRECTS, fetchRequestBodyMaxBytes } from "../../core/limits.js";
import type { HostFetchSettings, RunRequest } from "../executor/run-types.js";
import type { FetchAnswerMessage, FetchStartMessage } from "../executor/runner-protocol.js";
import type { GuestFetch } from "./guest-fetch.js";
import { systemLookup, type Lookup } from "./guarded-connector.js";

/** DNS answers from a static map (HostFetchSettings.hosts), falling back to the system resolver for other names. */
function staticLookup(hosts: Record<string, string[]>): Lookup {
  return async (hostname) => {
    const answers = hosts[hostname.toLowerCase()];
    if (!answers) return systemLookup(hostname);
    return answers.map((address) => ({ address, family: isIPv6(address) ? 6 : 4 }));
  };
}

/**
 * The fetches of one event on the host; `close()` when the event is over (idempotent). The fetch
 * client and undici are loaded on the first fetch, not with the host: most bots never fetch, and
 * undici costs ~0.15 s of CPU and ~8 MiB to load (`host serve`'s start, every `chatbot run`).
 */
export class EventFetches {
  private client: Promise<GuestFetch> | undefined;
  private readonly inflight = new Map<number, AbortController>();
  private closed = false;
  private started = 0;
  /** Replay mode only (HostFetchSettings.recorded): every URL the bot asked for, in order, refused ones included. */
  readonly urls: string[] | undefined;

  constructor(
    private readonly request: RunRequest,
    /** Where real requests go; undefined: a guarded Agent per event (production). A test's MockAgent. */
    private readonly dispatcher: Dispatcher | undefined,
    /** The host's own settings for this event (never from the runner). */
    private readonly settings: HostFetchSettings = {},
  ) {
    this.urls = settings.recorded ? [] : undefined;
  }

  /** Perform fetch `message.fetchId`; `answer` is called once with its outcome, unless the event ended first. */
  start(message: FetchStartMessage, answer: (reply: FetchAnswerMessage) => void): void {
    if (this.closed || this.inflight.has(message.fetchId)) return;
    this.urls?.push(message.request.url);
    // The sandbox already refuses fetches past the cap; this holds it even for a runner that lies.
    const { fetchesPerEvent } = this.request.limits;
    if (++this.started > fetchesPerEvent) {
      const error = { code: "E_LIMIT_fetchesPerEvent", message: `more than ${fetchesPerEvent} fetches in one event` };
      answer({ type: "fetch-answer", id: message.id, fetchId: message.fetchId, outcome: { error } });
      return;
    }
    const abort = new AbortController();
    this.inflight.set(message.fetchId, abort);
    const reply = (outcome: FetchAnswerMessage["outcome"]) => {
      if (this.inflight.get(message.fetchId) !== abort) return;
      this.inflight.delete(message.fetchId);
      if (!this.closed) answer({ type: "fetch-answer", id: message.id, fetchId: message.fetchId, outcome });
    };
    const started: Promise<FetchAnswerMessage["outcome"]> = this.fetcher()
      .then((client) => {
        // The event may have ended (or the guest stopped waiting) while the client loaded: then no request starts.
        if (abort.signal.aborted) throw new Error("the event ended before the fetch started");
        return client.fetch(message.request, message.body, abort.signal);
      })
      .then(
        (value) => ({ value }),
        (error: unknown) => ({ error: guestFacingError(error) }),
      );
    void started.then(reply);
  }

  /** The guest stopped waiting for fetch `fetchId`: abort it (its socket closes). */
  cancel(fetchId: number): void {
    this.inflight.get(fetchId)?.abort();
    this.inflight.delete(fetchId);
  }

  /** The event is over: abort every fetch still running and close the connection pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const abort of this.inflight.values()) abort.abort();
    this.inflight.clear();
    await this.client?.then((client) => client.close()).catch(() => undefined);
  }

  /** Built on the first fetch: most events never fetch. */
  private fetcher(): Promise<GuestFetch> {
    this.client ??= this.buildClient();
    return this.client;
  }

  private async buildClient(): Promise<GuestFetch> {
    const { fetch, limits } = this.request;
    const { caPem, hosts, recorded } = this.settings;
    const { createGuestFetch } = await import("./guest-fetch.js");
    // Replay mode (the test kit): the same guarded fetch, answered from the recordings; no socket is ever opened.
    const dispatcher = recorded ? (await import("./replay-dispatcher.js")).createReplayDispatcher(recorded) : this.dispatcher;
    return createGuestFetch({
      allowOrigins: fetch.allowOrigins,
      allowHttpLoopback: fetch.allowHttpLoopback,
      maxResponseBytes: limits.fetchResponseBytes,
      maxRequestBytes: fetchRequestBodyMaxBytes(limits),
      maxRedirects: FETCH_MAX_REDIRECTS,
      timeoutMs: limits.fetchTimeoutMs,
      ...(caPem ? { tls: { ca: caPem } } : {}),
      ...(hosts ? { lookup: staticLookup(hosts) } : {}),
      ...(dispatcher ? { dispatcher } : {}),
    });
  }
}
