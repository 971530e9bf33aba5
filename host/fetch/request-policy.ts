// What a bot may put in a request (pure): the method and its headers, and how both change on a
// redirect (WHATWG Fetch §4.4 "HTTP-redirect fetch").

import { ChatbotError } from "../../core/errors.js";

/** Methods a bot may use; CONNECT and TRACE are not among them (tunnels, header echo). */
const ALLOWED_METHODS: readonly string[] = Object.freeze(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Headers the host owns: framing and connection management (RFC 9110 §7.6.1, RFC 9112) that a bot
 * could use to smuggle a second request, and `host`, which must match the checked origin.
 * Dropped silently, as browsers drop forbidden headers, so code written for `fetch` keeps working.
 */
const HOST_OWNED_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "connection",
  "content-length",
  "transfer-encoding",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "expect",
  "http2-settings",
]);

/** Headers that carry the bot's credentials; dropped when a redirect leaves the origin. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(["authorization", "cookie", "proxy-authorization"]);

/** Headers that describe a body; dropped when a redirect turns the request into a GET. */
const BODY_HEADERS: ReadonlySet<string> = new Set(["content-type", "content-encoding", "content-language", "content-location"]);

// RFC 9110 §5.6.2 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The request's method in upper case; E_FETCH_REQUEST for anything outside ALLOWED_METHODS. */
export function checkMethod(method: string): string {
  const upper = method.toUpperCase();
  if (!ALLOWED_METHODS.includes(upper)) {
    throw new ChatbotError("E_FETCH_REQUEST", `method ${JSON.stringify(method.slice(0, 40))} is not allowed; use one of ${ALLOWED_METHODS.join(", ")}`);
  }
  return upper;
}

/**
 * The bot's headers, validated (E_FETCH_REQUEST on a malformed name or a value with CR, LF or NUL),
 * lower-cased, host-owned and proxy-* headers dropped, and `user-agent: chatbot` added if absent.
 */
export function sanitizeHeaders(headers: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  const result: Array<[string, string]> = [];
  for (const [rawName, rawValue] of headers) {
    const name = String(rawName).toLowerCase();
    const value = String(rawValue).replace(/^[\t ]+|[\t ]+$/g, ""); // Fetch "normalize": strip HTTP whitespace
    if (!TOKEN.test(name)) throw new ChatbotError("E_FETCH_REQUEST", `header name ${JSON.stringify(name.slice(0, 60))} is invalid`);
    if (/[\0\r\n]/.test(value)) throw new ChatbotError("E_FETCH_REQUEST", `header ${name} contains CR, LF or NUL`);
    if (HOST_OWNED_HEADERS.has(name) || name.startsWith("proxy-")) continue;
    result.push([name, value]);
  }
  if (!result.some(([name]) => name === "user-agent")) result.push(["user-agent", "chatbot"]);
  return result;
}

/** Status codes that redirect when a Location header is present. */
export function isRedirectStatus(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** The next hop's method and whether it keeps the body: 303 → GET (except HEAD), 301/302 POST → GET. */
export function redirectMethod(status: number, method: string): { method: string; keepBody: boolean } {
  if ((status === 303 && method !== "GET" && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
    return { method: "GET", keepBody: false };
  }
  return { method, keepBody: true };
}

/** The next hop's headers: body headers dropped without a body, credentials dropped across origins. */
export function redirectHeaders(headers: ReadonlyArray<readonly [string, string]>, keepBody: boolean, crossOrigin: boolean): Array<[string, string]> {
  return headers
    .filter(([name]) => keepBody || !BODY_HEADERS.has(name))
    .filter(([name]) => !crossOrigin || !CREDENTIAL_HEADERS.has(name))
    .map(([name, value]) => [name, value]);
}

/**
 * The checks every fetch makes before anything else (the network one and the test kit's replay):
 * an allowed method, the headers a bot may set, no body on GET/HEAD, a request body within the cap.
 */
export function checkRequest(
  request: { method: string; headers: ReadonlyArray<readonly [string, string]> },
  body: Uint8Array | undefined,
  maxRequestBytes: number,
): { method: string; headers: Array<[string, string]> } {
  const method = checkMethod(request.method);
  const headers = sanitizeHeaders(request.headers);
  if (body !== undefined && (method === "GET" || method === "HEAD")) {
    throw new ChatbotError("E_FETCH_REQUEST", `a ${method} request cannot have a body`);
  }
  if (body !== undefined && body.byteLength > maxRequestBytes) {
    throw new ChatbotError("E_FETCH_TOO_LARGE", `the request body of ${body.byteLength} bytes is larger than the ${maxRequestBytes}-byte limit`);
  }
  return { method, headers };
}

/** A redirect's Location resolved against the URL that answered; E_FETCH_FAILED when it is not a URL. */
export function resolveLocation(location: string, base: URL): string {
  try {
    return new URL(location, base).href;
  } catch {
    throw new ChatbotError("E_FETCH_FAILED", `fetch from ${base.origin} failed: the redirect's Location is not a URL`);
  }
}
