// What the feed bot keeps in bot.state: one key per followed feed, "feed:<url>", holding the chats
// that follow it and the (hashed) ids of the items already seen. Feeds are shared between chats,
// so a feed followed in ten chats is fetched once per tick. Every list is capped, so the state
// stays far below the host's quota (1 MiB) whatever users do.
import type { Bot } from "chatbot/std";
import { FEED_LIMITS, type FeedItem } from "./feed-parser.js";

/** Caps of the feed bot; each is checked before state grows. */
export const FEED_CAPS = Object.freeze({
  /** Feeds one chat may follow. */
  feedsPerChat: 10,
  /** Distinct feeds the bot follows over all chats. */
  feedsTotal: 100,
  /** Chats one feed is posted to (at most SENDS_PER_TICK in tick.ts, so one feed's posts fit into a tick). */
  chatsPerFeed: 50,
  /** Item ids remembered per feed (≥ FEED_LIMITS.maxItems, so nothing still in a feed is forgotten). */
  seenPerFeed: 200,
  /** Characters of a feed URL. */
  urlChars: 500,
});

const PREFIX = "feed:";

/** One followed feed. */
export interface FeedRecord {
  url: string;
  title: string;
  /** Chat ids (as bot.send takes them) the feed's new items go to. */
  chats: string[];
  /** Hashes of item ids already seen, those in the feed at the last fetch first. */
  seen: string[];
  /** Validators of the last 200 answer, for conditional requests (RFC 9110 §13.1). */
  etag?: string;
  lastModified?: string;
  /** When the feed was last fetched (ms since the epoch). */
  checkedAt: number;
  /** Fetches in a row that failed, and the last reason. */
  failures: number;
  lastError?: string;
}

/** A short, stable hash of an item id (cyrb53: 53 bits, base 36): 200 of them cost ~2.5 KB, not 200 URLs. */
export function itemKey(id: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/** The items not seen before, newest first. */
export function unseenItems(record: FeedRecord, items: readonly FeedItem[]): FeedItem[] {
  const seen = new Set(record.seen);
  const fresh: FeedItem[] = [];
  const keys = new Set<string>();
  for (const item of items) {
    const key = itemKey(item.id);
    if (seen.has(key) || keys.has(key)) continue;
    keys.add(key);
    fresh.push(item);
  }
  return fresh;
}

/**
 * The seen list after a fetch: every item now in the feed (so none of them is ever posted again),
 * then the older ids, up to FEED_CAPS.seenPerFeed.
 */
export function rememberItems(record: FeedRecord, items: readonly FeedItem[]): string[] {
  const next = new Set<string>();
  for (const item of items.slice(0, FEED_LIMITS.maxItems)) next.add(itemKey(item.id));
  for (const key of record.seen) {
    if (next.size >= FEED_CAPS.seenPerFeed) break;
    next.add(key);
  }
  return [...next].slice(0, FEED_CAPS.seenPerFeed);
}

/** The record of a feed URL, or undefined. */
export async function loadFeed(bot: Bot, url: string): Promise<FeedRecord | undefined> {
  return bot.state.get<FeedRecord>(PREFIX + url);
}

/** Every followed feed. */
export async function loadAllFeeds(bot: Bot): Promise<FeedRecord[]> {
  const records: FeedRecord[] = [];
  for (const key of await bot.state.keys()) {
    if (!key.startsWith(PREFIX)) continue;
    const record = await bot.state.get<FeedRecord>(key);
    if (record && typeof record.url === "string" && Array.isArray(record.chats) && Array.isArray(record.seen)) records.push(record);
  }
  return records;
}

/** Store a feed; a feed no chat follows any more is forgotten. */
export async function saveFeed(bot: Bot, record: FeedRecord): Promise<void> {
  if (record.chats.length === 0) await bot.state.delete(PREFIX + record.url);
  else await bot.state.set(PREFIX + record.url, record);
}
