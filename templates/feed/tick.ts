// The hourly check: fetch each followed feed once (however many chats follow it), post what is new
// to every chat that follows it, and remember it so nothing is posted twice.
//
// One tick is one sandbox event with hard caps (20 fetches, 100 actions, 30 s wall time). Feeds
// are checked oldest-check first, at most FETCHES_PER_TICK of them and only as many as fit into
// SENDS_PER_TICK posts; the rest are first in line at the next tick. The fetches run concurrently,
// so the tick takes as long as the slowest feed (each fetch times out within the host's 10 s);
// reading them is capped by READ_BUDGET_MS so the tick stays inside the host's CPU budget.
import type { Bot } from "chatbot/std";
import { downloadFeed, readDownload, type FetchOutcome } from "./feed-fetch.js";
import { loadAllFeeds, rememberItems, saveFeed, unseenItems, type FeedRecord } from "./feed-store.js";
import { FAILURES_BEFORE_NOTICE, failingText, newItemsText } from "./messages.js";

/** Feeds fetched per tick (the host allows 20 fetches per event). */
export const FETCHES_PER_TICK = 10;
/** Posts per tick (the host allows 100 actions per event); a feed's chats are never split. */
export const SENDS_PER_TICK = 80;
/**
 * Time spent reading downloaded feeds after which no further feed is read; the rest are left for
 * the next tick, ms. The host stops an event after 1000 ms of CPU (cpuMsPerEvent) and the whole
 * tick is lost then. A real feed takes 10-80 ms to read, a hostile one at most ~250 ms
 * (FEED_LIMITS); starting the sandbox and taking in ten downloads cost up to ~250 ms more; so
 * starting no feed after 300 ms of reading stays inside the budget.
 */
export const READ_BUDGET_MS = 300;

/**
 * A stopwatch, ms. Not bot.now(): that is the event's clock (the test kit holds it still).
 * Date.now() in the sandbox is the real clock, which is what measuring work needs.
 */
const stopwatch = (): number => Date.now();

/** The feeds to check now: least recently checked first, within the fetch and send budgets. */
export function feedsToCheck(feeds: readonly FeedRecord[]): FeedRecord[] {
  const ordered = [...feeds].sort((a, b) => (a.checkedAt ?? 0) - (b.checkedAt ?? 0) || (a.url < b.url ? -1 : 1));
  const chosen: FeedRecord[] = [];
  let sends = 0;
  for (const feed of ordered) {
    if (chosen.length >= FETCHES_PER_TICK) break;
    // The first feed always goes, so one with many chats cannot be starved.
    if (chosen.length > 0 && sends + feed.chats.length > SENDS_PER_TICK) continue;
    chosen.push(feed);
    sends += feed.chats.length;
  }
  return chosen;
}

/** Apply one fetch outcome to a feed: post its new items and update what is remembered. */
async function settle(bot: Bot, record: FeedRecord, outcome: FetchOutcome, at: number): Promise<void> {
  record.checkedAt = at;
  if (outcome.kind === "error") {
    record.failures = (record.failures ?? 0) + 1;
    record.lastError = outcome.reason;
    bot.log(`feed ${record.url}: ${outcome.reason} (${record.failures} in a row)`);
    if (record.failures === FAILURES_BEFORE_NOTICE) {
      for (const chat of record.chats) await bot.send(chat, failingText(record));
    }
    await saveFeed(bot, record);
    return;
  }
  record.failures = 0;
  delete record.lastError;
  if (outcome.kind === "feed") {
    const { feed } = outcome;
    if (feed.title) record.title = feed.title;
    const fresh = unseenItems(record, feed.items);
    if (fresh.length > 0) {
      const text = newItemsText(record, fresh, feed.link);
      for (const chat of record.chats) await bot.send(chat, text);
    }
    record.seen = rememberItems(record, feed.items);
    if (outcome.etag) record.etag = outcome.etag;
    else delete record.etag;
    if (outcome.lastModified) record.lastModified = outcome.lastModified;
    else delete record.lastModified;
  }
  await saveFeed(bot, record);
}

/** The tick handler's work at the tick's time `at`. */
export async function checkFeeds(bot: Bot, at: number): Promise<void> {
  const chosen = feedsToCheck(await loadAllFeeds(bot));
  if (chosen.length === 0) return;
  const downloads = await Promise.all(chosen.map((record) => downloadFeed(bot, record.url, record)));
  // Measured from here: waiting for servers costs wall time but no CPU, and a slow server must
  // not keep the others from being read. Reading is all CPU, so the stopwatch measures it.
  const started = stopwatch();
  for (const [index, record] of chosen.entries()) {
    const download = downloads[index];
    if (!download) continue;
    if (stopwatch() - started > READ_BUDGET_MS) {
      // Not checked: these stay first in line for the next tick.
      bot.log(`read budget of ${READ_BUDGET_MS} ms used; ${chosen.length - index} feeds wait for the next tick`);
      break;
    }
    const outcome: FetchOutcome = download.kind === "download" ? readDownload(download) : download;
    await settle(bot, record, outcome, at);
  }
}
