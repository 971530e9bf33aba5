// Fetching one feed through bot.fetch, with conditional requests, and every way it can fail turned
// into a sentence a user understands. Only limit errors (E_LIMIT_*) are thrown on: the host ends
// the event for those anyway.
import { BotError, type Bot } from "chatbot/std";
import { FEED_LIMITS, parseFeed, type Feed } from "./feed-parser.js";

/** What fetching a feed came to. */
export type FetchOutcome =
  | { kind: "feed"; feed: Feed; etag?: string; lastModified?: string }
  /** 304 Not Modified: nothing new since the validators were given. */
  | { kind: "unchanged" }
  /** `refusedOrigin` is set when the host refused the origin (not approved for this bot). */
  | { kind: "error"; reason: string; refusedOrigin?: string };

/** Validators of an earlier answer (RFC 9110 §13.1.1, §13.1.3). */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

const ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";
const VALIDATOR_CHARS = 200;

/** "https://host[:port]" of a URL as the user wrote it (lower-cased), or the URL itself. */
export function originOf(url: string): string {
  return (/^https?:\/\/[^/?#\s]+/i.exec(url)?.[0] ?? url).toLowerCase();
}

/**
 * The URL in a command's arguments, tidied (scheme and host lower-cased, no #fragment, angle
 * brackets removed), or undefined when it is not an http(s) URL.
 */
export function feedUrl(args: string): string | undefined {
  const token =
    args
      .trim()
      .split(/\s+/)[0]
      ?.replace(/^<(.*)>$/, "$1") ?? "";
  const match = /^(https?:\/\/[^/?#\s]+)([^#\s]*)/i.exec(token);
  if (!match) return undefined;
  return `${(match[1] ?? "").toLowerCase()}${match[2] || "/"}`;
}

function describeFailure(error: unknown, url: string): Extract<FetchOutcome, { kind: "error" }> {
  if (!(error instanceof BotError)) return { kind: "error", reason: `the fetch failed (${error instanceof Error ? error.message : String(error)})` };
  switch (error.code) {
    case "E_FETCH_ORIGIN": {
      // The refused origin may be a redirect's target rather than the URL's own.
      const origin = /origin (\S+) is not allowed/.exec(error.message)?.[1] ?? originOf(url);
      return { kind: "error", reason: `${origin} is not an origin this bot may fetch from`, refusedOrigin: origin };
    }
    case "E_FETCH_SCHEME":
      return { kind: "error", reason: "only https:// feeds can be fetched" };
    case "E_FETCH_ADDRESS":
      return { kind: "error", reason: "it points to a local, private or mail-port address, which bots may never reach" };
    case "E_FETCH_TIMEOUT":
      return { kind: "error", reason: "the server did not answer in time" };
    case "E_FETCH_TOO_LARGE":
      return { kind: "error", reason: "the feed is larger than the relay lets a bot download" };
    case "E_FETCH_REQUEST":
      return { kind: "error", reason: "that is not a URL I can fetch" };
    default:
      return { kind: "error", reason: `the server could not be reached (${error.message})` };
  }
}

function validator(value: string | null): string | undefined {
  return value === null || value === "" || value.length > VALIDATOR_CHARS ? undefined : value;
}

/** A feed's document as downloaded, not yet parsed (so a tick can parse within a time budget). */
export interface Download {
  kind: "download";
  text: string;
  /** The final URL after redirects, for relative links. */
  url: string;
  etag?: string;
  lastModified?: string;
}

/**
 * Fetch `url`; `validators` make it a conditional request. The text is cut to what the parser
 * reads at once, so ten feeds in flight hold at most ten times FEED_LIMITS.maxChars. Never throws
 * except for host limits.
 */
export async function downloadFeed(bot: Bot, url: string, validators: Validators = {}): Promise<Download | Exclude<FetchOutcome, { kind: "feed" }>> {
  const headers: Record<string, string> = { accept: ACCEPT };
  if (validators.etag) headers["if-none-match"] = validators.etag;
  if (validators.lastModified) headers["if-modified-since"] = validators.lastModified;
  try {
    const response = await bot.fetch(url, { headers });
    if (response.status === 304) return { kind: "unchanged" };
    if (!response.ok) return { kind: "error", reason: `the server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}` };
    const text = (await response.text()).slice(0, FEED_LIMITS.maxChars);
    const etag = validator(response.headers.get("etag"));
    const lastModified = validator(response.headers.get("last-modified"));
    return { kind: "download", text, url: response.url || url, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
  } catch (error) {
    if (error instanceof BotError && error.code.startsWith("E_LIMIT_")) throw error;
    return describeFailure(error, url);
  }
}

/** Parse a download into a feed, or the reason it is not one. */
export function readDownload(download: Download): FetchOutcome {
  const parsed = parseFeed(download.text, download.url);
  if (!parsed.ok) return { kind: "error", reason: parsed.reason };
  const { etag, lastModified } = download;
  return { kind: "feed", feed: parsed.feed, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
}

/** Fetch and parse `url` (see downloadFeed). */
export async function fetchFeed(bot: Bot, url: string, validators: Validators = {}): Promise<FetchOutcome> {
  const download = await downloadFeed(bot, url, validators);
  return download.kind === "download" ? readDownload(download) : download;
}
