// Which URLs a bot may fetch (pure): the operator's allowlist of origins, https only, and never the
// relay's mail ports. Checked before every request and again for every redirect's Location.

import { ChatbotError } from "../../core/errors.js";
import { classifyAddress, isRefusedPort, parseIp } from "./address-policy.js";

/** The parsed allowlist; build it once with `createOriginPolicy`. */
export interface OriginPolicy {
  /** Normalized origins, e.g. "https://api.example.org" or "https://127.0.0.1:8443". */
  readonly origins: ReadonlySet<string>;
  /** Hosts (IPv6 without brackets) of allowed origins that are IP literals or `localhost`. */
  readonly namedHosts: ReadonlySet<string>;
  /** Test flag: plain http is accepted for allowed loopback origins. */
  readonly allowHttpLoopback: boolean;
}

/** The URL's hostname without IPv6 brackets, as a socket would be given it. */
function bareHostname(url: URL): string {
  const host = url.hostname;
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

/** True for `localhost` and loopback IP literals (127.0.0.0/8, ::1): the only hosts plain http may reach. */
function isLoopbackHost(hostname: string): boolean {
  if (hostname === "localhost") return true;
  const bytes = parseIp(hostname);
  return bytes !== undefined && classifyAddress(bytes) === "loopback";
}

/** Normalize one allowlist entry to its origin ("https://host[:port]", default port folded); E_CONFIG if bad. */
export function normalizeOrigin(entry: string): string {
  const bad = (why: string): ChatbotError => new ChatbotError("E_CONFIG", `allowed origin ${JSON.stringify(entry)} is invalid: ${why}`);
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    throw bad("not a URL (expected e.g. https://api.example.org)");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw bad("only https origins can be allowed");
  if (url.protocol === "http:" && !isLoopbackHost(bareHostname(url))) {
    throw bad("http is allowed only for loopback test origins; use https");
  }
  if (url.username !== "" || url.password !== "") throw bad("an origin has no user or password");
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") throw bad("an origin has no path, query or fragment");
  return url.origin;
}

/** Parse and normalize the allowlist once; throws E_CONFIG naming the first bad entry. */
export function createOriginPolicy(entries: readonly string[], allowHttpLoopback: boolean): OriginPolicy {
  const origins = new Set<string>();
  const namedHosts = new Set<string>();
  for (const entry of entries) {
    const origin = normalizeOrigin(entry);
    origins.add(origin);
    const host = bareHostname(new URL(origin));
    if (host === "localhost" || parseIp(host)) namedHosts.add(host);
  }
  return Object.freeze({ origins, namedHosts, allowHttpLoopback });
}

/** The port a URL connects to, with the scheme's default filled in. */
function effectivePort(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "http:" ? 80 : 443;
}

/**
 * Parse a URL a bot asked for and check it against the policy. Throws E_FETCH_REQUEST (not a URL,
 * credentials in it), E_FETCH_SCHEME, E_FETCH_ADDRESS (a mail port) or E_FETCH_ORIGIN.
 */
export function checkFetchUrl(text: string, policy: OriginPolicy): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ChatbotError("E_FETCH_REQUEST", `${JSON.stringify(text.slice(0, 200))} is not an absolute URL`);
  }
  if (url.protocol === "http:") {
    if (!policy.allowHttpLoopback || !isLoopbackHost(bareHostname(url))) {
      throw new ChatbotError("E_FETCH_SCHEME", `${url.origin} uses http; bots may fetch only https URLs`);
    }
  } else if (url.protocol !== "https:") {
    throw new ChatbotError("E_FETCH_SCHEME", `the ${url.protocol} scheme is not supported; bots may fetch only https URLs`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new ChatbotError("E_FETCH_REQUEST", "a fetch URL may not contain a user or password; send an Authorization header");
  }
  // Before the allowlist: approving such an origin would not help, so don't suggest it.
  if (isRefusedPort(effectivePort(url))) {
    throw new ChatbotError("E_FETCH_ADDRESS", `port ${effectivePort(url)} is a mail port of the relay, which bots may never reach`);
  }
  if (!policy.origins.has(url.origin)) {
    throw new ChatbotError(
      "E_FETCH_ORIGIN",
      `origin ${url.origin} is not allowed for this bot; ask the relay operator to approve it (chatbot host bots --approve-origin)`,
    );
  }
  return url;
}
