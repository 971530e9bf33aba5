// Every text the feed bot sends, in one place.
import type { FeedItem } from "./feed-parser.js";
import type { FeedRecord } from "./feed-store.js";

/** Items shown in one post; the rest of a burst is counted, not listed. */
export const ITEMS_PER_POST = 5;
/** Items shown when a chat starts following a feed. */
export const ITEMS_ON_SUBSCRIBE = 3;
/** Failed checks in a row (one per hour) after which the chats are told, once. */
export const FAILURES_BEFORE_NOTICE = 24;

export const HELP = [
  "I post new items of RSS and Atom feeds into this chat.",
  "",
  "/sub URL — follow a feed (https; its site must be allowed for this bot)",
  "/unsub URL or /unsub N — stop following a feed (N as in /list)",
  "/list — the feeds this chat follows",
  "/help — this text",
  "",
  "I check every feed once an hour and post only what is new since the last check.",
].join("\n");

/** A feed's name for people: its title, else its URL. */
export function feedName(record: Pick<FeedRecord, "title" | "url">): string {
  return record.title || record.url;
}

function itemLines(items: readonly FeedItem[]): string[] {
  return items.flatMap((item) => (item.link ? [`• ${item.title}`, `  ${item.link}`] : [`• ${item.title}`]));
}

/** The post of a feed's new items (newest first); `more` counts the ones not shown. */
export function newItemsText(record: FeedRecord, items: readonly FeedItem[], siteLink: string): string {
  const shown = items.slice(0, ITEMS_PER_POST);
  const more = items.length - shown.length;
  const lines = [`New in ${feedName(record)}:`, ...itemLines(shown)];
  if (more > 0) lines.push(`…and ${more} more${siteLink ? `: ${siteLink}` : ""}`);
  return lines.join("\n");
}

/** The answer to a successful /sub. */
export function subscribedText(record: FeedRecord, latest: readonly FeedItem[]): string {
  const lines = [`Following ${feedName(record)}${record.title ? ` (${record.url})` : ""}.`];
  if (latest.length === 0) lines.push("It has no items yet.");
  else lines.push(latest.length === 1 ? "Its latest item:" : `Its latest ${latest.length} items:`, ...itemLines(latest));
  lines.push("", "I check it once an hour and post new items here.");
  return lines.join("\n");
}

/** Why a feed cannot be followed because the host refused its origin, and who can change that. */
export function refusedOriginText(url: string, origin: string): string {
  return [
    `I can't follow ${url}: this bot may only fetch from web origins that are allowed for it, and ${origin} is not one of them.`,
    "",
    "An origin is allowed in two steps:",
    `1. the bot's author adds "${origin}" to "origins" in the bot's chatbot.json and deploys the bot again;`,
    `2. the relay's operator approves it: chatbot host bots approve-origin <bot address> ${origin}`,
    "",
    "Until then, use a feed from an origin that is already allowed.",
  ].join("\n");
}

/** The notice after a feed failed for a day. */
export function failingText(record: FeedRecord): string {
  return `${feedName(record)} has failed for ${record.failures} checks in a row (last: ${record.lastError ?? "unknown"}). I keep trying; /unsub ${record.url} stops it.`;
}
