// The host side of `bot.fetch`: one function per bot that checks every hop against the operator's
// allowlist, follows redirects itself, caps the body while streaming, and reports bytes for the
// per-user bandwidth limit. The only network I/O of the fetch subsystem happens here and in the
// connector this file builds.

import { rootCertificates } from "node:tls";
import { Agent, buildConnector, type Dispatcher } from "undici";
import type { FetchRequestData, FetchResponseData } from "../../std/contract.js";
import { ChatbotError } from "../../core/errors.js";
import { REDIRECT_DRAIN_BYTES } from "../../core/limits.js";
import { startFetchDeadline } from "./deadline.js";
import { toFetchError } from "./fetch-failure.js";
import { createGuardedConnector, systemLookup, type Lookup } from "./guarded-connector.js";
import { checkFetchUrl, createOriginPolicy, type OriginPolicy } from "./origin-policy.js";
import { abandonBody, discardBody, readCappedBody, tooLarge } from "./read-body.js";
import { checkRequest, isRedirectStatus, redirectHeaders, redirectMethod, resolveLocation } from "./request-policy.js";

/** How the host fetches for one bot; checked once by `createGuestFetch`. */
export interface GuestFetchOptions {
  /** Origins the operator approved, e.g. "https://api.example.org"; normalized, E_CONFIG names a bad one. */
  allowOrigins: readonly string[];
  /** Test flag: http:// is accepted only for allowed loopback-literal or localhost origins. */
  allowHttpLoopback: boolean;
  /** Cap of one response body, bytes; more → E_FETCH_TOO_LARGE (Content-Length or while streaming). */
  maxResponseBytes: number;
  /** Cap of one request body, bytes; more → E_FETCH_TOO_LARGE before anything is sent. */
  maxRequestBytes: number;
  /** Time one fetch may take including redirects and reading the body, ms. */
  timeoutMs: number;
  /** Redirects followed before the fetch fails with E_FETCH_FAILED. */
  maxRedirects: number;
  /** DNS for names (tests inject one); default: the system resolver, all answers. */
  lookup?: Lookup;
  /** An extra CA trusted besides the system roots (tests). */
  tls?: { ca?: string | Buffer };
  /**
   * Opens a socket once the guard approved the address; default undici's `buildConnector`. Tests
   * inject one that maps a documentation address to a loopback server. The guard always runs first.
   */
  connectSocket?: buildConnector.connector;
  /**
   * Where requests go instead of the guarded pool (tests: undici's MockAgent). The origin policy,
   * redirects, caps and deadlines still apply; the address guard is the pool's connector, so a
   * dispatcher given here is trusted to reach only what it should. Not closed by `close()`.
   */
  dispatcher?: Dispatcher;
}

/** A completed fetch: the response, its body, and the bytes counted against the user's bandwidth. */
export interface GuestFetchResult {
  response: FetchResponseData;
  body: Uint8Array;
  /** Body bytes received over all hops plus an estimate of their status line and headers. */
  bytesIn: number;
  /** Request body bytes sent over all hops (a 307/308 sends the body again). */
  bytesOut: number;
}

/** The fetch a bot is handed, and the way to close its connection pool. */
export interface GuestFetch {
  fetch(request: FetchRequestData, body: Uint8Array | undefined, signal?: AbortSignal): Promise<GuestFetchResult>;
  close(): Promise<void>;
}

/** Build the fetch function the executor hands to a bot; `signal` aborts at the event's wall deadline. */
export function createGuestFetch(options: GuestFetchOptions): GuestFetch {
  for (const key of ["maxResponseBytes", "maxRequestBytes", "timeoutMs", "maxRedirects"] as const) {
    const value = options[key];
    if (!Number.isSafeInteger(value) || value < 0) throw new ChatbotError("E_CONFIG", `fetch option ${key} must be a non-negative integer, got ${value}`);
  }
  const policy = createOriginPolicy(options.allowOrigins, options.allowHttpLoopback);
  const { maxResponseBytes, maxRequestBytes, timeoutMs, maxRedirects } = options;
  const limits: Limits = { maxResponseBytes, maxRequestBytes, timeoutMs, maxRedirects, policy };
  const injected = options.dispatcher;
  if (injected) return { fetch: (request, body, signal) => guestFetch(injected, limits, request, body, signal), close: async () => undefined };
  const extraCa = options.tls?.ca;
  const connectSocket = options.connectSocket ?? buildConnector({ allowH2: false, ...(extraCa === undefined ? {} : { ca: [...rootCertificates, extraCa] }) });
  // One pool per bot: sockets are reused per origin, and each new one passes the guard.
  const agent = new Agent({
    allowH2: false,
    connect: createGuardedConnector({ lookup: options.lookup ?? systemLookup, namedHosts: policy.namedHosts, connectSocket }),
  });
  return {
    fetch: (request, body, signal) => guestFetch(agent, limits, request, body, signal),
    close: () => agent.close(),
  };
}

type Limits = Pick<GuestFetchOptions, "maxResponseBytes" | "maxRequestBytes" | "timeoutMs" | "maxRedirects"> & {
  policy: OriginPolicy;
};

async function guestFetch(
  agent: Dispatcher,
  limits: Limits,
  request: FetchRequestData,
  body: Uint8Array | undefined,
  outer: AbortSignal | undefined,
): Promise<GuestFetchResult> {
  let { method, headers } = checkRequest(request, body, limits.maxRequestBytes);
  let payload = body;
  let url = checkFetchUrl(request.url, limits.policy);
  const deadline = startFetchDeadline(limits.timeoutMs, url.origin, outer);
  let bytesIn = 0;
  let bytesOut = 0;
  try {
    for (let redirects = 0; ; redirects++) {
      const response = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method,
        headers: headers.flat(),
        body: payload ?? null,
        signal: deadline.signal,
      });
      bytesOut += payload?.byteLength ?? 0;
      const responseHeaders = headerPairs(response.headers);
      bytesIn += headerBytes(response.statusText, responseHeaders);
      const location = responseHeaders.find(([name]) => name === "location")?.[1];
      if (isRedirectStatus(response.statusCode) && location !== undefined) {
        bytesIn += await discardBody(response.body, REDIRECT_DRAIN_BYTES);
        if (redirects >= limits.maxRedirects) {
          throw new ChatbotError("E_FETCH_FAILED", `fetch from ${url.origin} failed: more than ${limits.maxRedirects} redirects`);
        }
        const next = checkFetchUrl(resolveLocation(location, url), limits.policy);
        const change = redirectMethod(response.statusCode, method);
        headers = redirectHeaders(headers, change.keepBody, next.origin !== url.origin);
        method = change.method;
        if (!change.keepBody) payload = undefined;
        url = next;
        continue;
      }
      const declared = Number(response.headers["content-length"]);
      if (method !== "HEAD" && Number.isFinite(declared) && declared > limits.maxResponseBytes) {
        abandonBody(response.body);
        throw tooLarge(url.origin, limits.maxResponseBytes);
      }
      const bytes = await readCappedBody(response.body, limits.maxResponseBytes, url.origin);
      bytesIn += bytes.byteLength;
      const finalUrl = new URL(url);
      finalUrl.hash = ""; // Response.url never carries the fragment (WHATWG Fetch)
      return {
        response: {
          url: finalUrl.href,
          status: response.statusCode,
          statusText: response.statusText ?? "",
          headers: responseHeaders,
          redirected: redirects > 0,
        },
        body: bytes,
        bytesIn,
        bytesOut,
      };
    }
  } catch (error) {
    throw toFetchError(error, deadline.signal, url.origin);
  } finally {
    deadline.dispose();
  }
}

// undici gives repeated headers (set-cookie) as arrays; the guest sees one pair per value.
function headerPairs(headers: Record<string, string | string[] | undefined>): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) pairs.push([name, one]);
  }
  return pairs;
}

// Estimate of the response head as HTTP/1.1 puts it on the wire: "HTTP/1.1 200 " + reason + CRLF,
// "name: value" + CRLF per header, and the blank line. TLS framing is not counted.
function headerBytes(statusText: string | undefined, headers: ReadonlyArray<readonly [string, string]>): number {
  let total = 13 + (statusText?.length ?? 0) + 2 + 2;
  for (const [name, value] of headers) total += name.length + 2 + value.length + 2;
  return total;
}
