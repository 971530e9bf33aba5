// bot.fetch in replay mode (the test kit, chatbot/testing): answers come from responses the test
// recorded, and nothing here opens a socket. Everything a bot could get wrong is checked exactly
// as guest-fetch.ts checks it — method, headers, body size, scheme, mail ports, the origin
// allowlist on every hop — with the same codes, so a test fails where production would.
import { STATUS_CODES } from "node:http";
import type { FetchRequestData } from "../../std/contract.js";
import { ChatbotError } from "../../core/errors.js";
import type { RecordedFetch } from "../executor/run-types.js";
import type { GuestFetch, GuestFetchResult } from "./guest-fetch.js";
import { checkFetchUrl, createOriginPolicy, type OriginPolicy } from "./origin-policy.js";
import { tooLarge } from "./read-body.js";
import { checkRequest, isRedirectStatus, redirectMethod, resolveLocation } from "./request-policy.js";

/** How a replay fetch checks requests: the same options a real one gets, minus the network. */
export interface ReplayFetchOptions {
  allowOrigins: readonly string[];
  allowHttpLoopback: boolean;
  recorded: readonly RecordedFetch[];
  /** Cap of one response body, bytes (E_FETCH_TOO_LARGE over it). */
  maxResponseBytes: number;
  /** Cap of one request body, bytes. */
  maxRequestBytes: number;
  /** Redirects followed before E_FETCH_FAILED. */
  maxRedirects: number;
}

/** A replay fetch, and every URL the bot asked for (refused ones too), in order. */
export interface ReplayFetch extends GuestFetch {
  readonly urls: string[];
}

/** The key a recording is found by: the URL normalized (`new URL().href`) without its fragment. */
export function recordingKey(url: string): string {
  const parsed = new URL(url);
  parsed.hash = "";
  return parsed.href;
}

/** Build a fetch that answers from `recorded` only; a bad allowlist fails the first fetch (E_CONFIG), like guest-fetch. */
export function createReplayFetch(options: ReplayFetchOptions): ReplayFetch {
  let checked: { policy: OriginPolicy; byUrl: Map<string, RecordedFetch> } | undefined;
  const urls: string[] = [];
  return {
    urls,
    fetch: async (request, body) => {
      urls.push(request.url);
      checked ??= {
        policy: createOriginPolicy(options.allowOrigins, options.allowHttpLoopback),
        byUrl: new Map(options.recorded.map((r) => [recordingKey(r.url), r])),
      };
      return replay(options, checked.policy, checked.byUrl, request, body);
    },
    close: async () => undefined,
  };
}

function replay(
  options: ReplayFetchOptions,
  policy: OriginPolicy,
  byUrl: ReadonlyMap<string, RecordedFetch>,
  request: FetchRequestData,
  body: Uint8Array | undefined,
): GuestFetchResult {
  let { method } = checkRequest(request, body, options.maxRequestBytes);
  let url = checkFetchUrl(request.url, policy);
  let keepBody = body !== undefined;
  for (let redirects = 0; ; redirects++) {
    const recording = byUrl.get(recordingKey(url.href));
    if (!recording) {
      throw new ChatbotError(
        "E_FETCH_FAILED",
        `fetch from ${url.origin} failed: no recorded response for ${recordingKey(url.href)} (tests never use the network); ` +
          `record one in the test with bot.fetch.on(${JSON.stringify(recordingKey(url.href))}, { status, headers, body })`,
      );
    }
    const headers = Object.entries(recording.headers).map(([name, value]): [string, string] => [name.toLowerCase(), value]);
    const location = headers.find(([name]) => name === "location")?.[1];
    if (isRedirectStatus(recording.status) && location !== undefined) {
      if (redirects >= options.maxRedirects) {
        throw new ChatbotError("E_FETCH_FAILED", `fetch from ${url.origin} failed: more than ${options.maxRedirects} redirects`);
      }
      url = checkFetchUrl(resolveLocation(location, url), policy);
      const change = redirectMethod(recording.status, method);
      method = change.method;
      keepBody &&= change.keepBody;
      continue;
    }
    const bytes = method === "HEAD" ? new Uint8Array() : new Uint8Array(Buffer.from(recording.bodyBase64, "base64"));
    if (bytes.byteLength > options.maxResponseBytes) throw tooLarge(url.origin, options.maxResponseBytes);
    return {
      response: {
        url: recordingKey(url.href),
        status: recording.status,
        statusText: STATUS_CODES[recording.status] ?? "",
        headers,
        redirected: redirects > 0,
      },
      body: bytes,
      bytesIn: bytes.byteLength,
      bytesOut: keepBody ? (body?.byteLength ?? 0) : 0,
    };
  }
}
