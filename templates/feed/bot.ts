// The feed bot: follow RSS and Atom feeds in a chat; new items are posted after each hourly check.
//
//   /sub URL      follow a feed: fetched at once to check it is a feed; the current items are
//                 remembered (the latest three are shown) so the chat is not flooded with old news
//   /unsub URL|N  stop following
//   /list         the feeds this chat follows
//
// The hourly tick (tick.ts) fetches each feed once for all the chats that follow it. The host
// only lets a bot fetch from origins in chatbot.json's "origins" that the relay operator approved;
// /sub explains that when it refuses a feed.
import { defineBot, type Bot, type Message } from "chatbot/std";
import { feedUrl, fetchFeed } from "./feed-fetch.js";
import { FEED_CAPS, loadAllFeeds, rememberItems, saveFeed, type FeedRecord } from "./feed-store.js";
import { HELP, ITEMS_ON_SUBSCRIBE, feedName, refusedOriginText, subscribedText } from "./messages.js";
import { checkFeeds } from "./tick.js";

const USAGE_SUB = "Send /sub and the feed's address, e.g. /sub https://hnrss.org/frontpage";

/** This chat's feeds in a stable order (the numbers of /list and /unsub N). */
function chatFeeds(all: readonly FeedRecord[], chatId: string): FeedRecord[] {
  return all.filter((feed) => feed.chats.includes(chatId)).sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
}

async function subscribe(msg: Message, bot: Bot): Promise<void> {
  const url = feedUrl(msg.command?.args ?? "");
  if (url === undefined) return void (await bot.reply(USAGE_SUB));
  if (url.length > FEED_CAPS.urlChars) return void (await bot.reply(`That address is longer than ${FEED_CAPS.urlChars} characters; I can't follow it.`));
  const chatId = msg.chat.id;
  const all = await loadAllFeeds(bot);
  const existing = all.find((feed) => feed.url === url);
  if (existing?.chats.includes(chatId)) return void (await bot.reply(`This chat already follows ${feedName(existing)}.`));
  if (chatFeeds(all, chatId).length >= FEED_CAPS.feedsPerChat) {
    return void (await bot.reply(`This chat follows ${FEED_CAPS.feedsPerChat} feeds, the most I allow per chat. /unsub one first (see /list).`));
  }
  if (existing) {
    // Already checked hourly for other chats: nothing to fetch; this chat gets items new from now on.
    if (existing.chats.length >= FEED_CAPS.chatsPerFeed)
      return void (await bot.reply(`${feedName(existing)} is followed by as many chats as I can post to; I can't add this one.`));
    existing.chats.push(chatId);
    await saveFeed(bot, existing);
    return void (await bot.reply(`Following ${feedName(existing)}. I check it once an hour and post new items here.`));
  }
  if (all.length >= FEED_CAPS.feedsTotal)
    return void (await bot.reply(`I already follow ${FEED_CAPS.feedsTotal} feeds, the most I can check every hour. Ask again later.`));

  const outcome = await fetchFeed(bot, url);
  if (outcome.kind === "error") {
    if (outcome.refusedOrigin) return void (await bot.reply(refusedOriginText(url, outcome.refusedOrigin)));
    return void (await bot.reply(`I can't follow ${url}: ${outcome.reason}.`));
  }
  if (outcome.kind === "unchanged") return void (await bot.reply(`I can't follow ${url}: the server answered 304 to a plain request.`));
  const { feed } = outcome;
  const record: FeedRecord = {
    url,
    title: feed.title,
    chats: [chatId],
    seen: [],
    checkedAt: bot.now(),
    failures: 0,
    ...(outcome.etag ? { etag: outcome.etag } : {}),
    ...(outcome.lastModified ? { lastModified: outcome.lastModified } : {}),
  };
  // Everything in the feed now counts as seen: only items published from here on are posted.
  record.seen = rememberItems(record, feed.items);
  await saveFeed(bot, record);
  await bot.reply(subscribedText(record, feed.items.slice(0, ITEMS_ON_SUBSCRIBE)));
}

async function unsubscribe(msg: Message, bot: Bot): Promise<void> {
  const args = (msg.command?.args ?? "").trim();
  const mine = chatFeeds(await loadAllFeeds(bot), msg.chat.id);
  const number = /^\d{1,4}$/.test(args) ? Number(args) : undefined;
  const url = number === undefined ? feedUrl(args) : undefined;
  const target = number !== undefined ? mine[number - 1] : mine.find((feed) => feed.url === url);
  if (!target) {
    if (args === "") return void (await bot.reply("Send /unsub and the feed's address or its number in /list."));
    return void (await bot.reply(`This chat does not follow ${number !== undefined ? `a feed number ${number}` : args}. /list shows the feeds it follows.`));
  }
  target.chats = target.chats.filter((chat) => chat !== msg.chat.id);
  await saveFeed(bot, target);
  await bot.reply(`Stopped following ${feedName(target)}.`);
}

async function list(msg: Message, bot: Bot): Promise<void> {
  const mine = chatFeeds(await loadAllFeeds(bot), msg.chat.id);
  if (mine.length === 0) return void (await bot.reply("This chat follows no feeds. Add one with /sub URL."));
  const lines = mine.map((feed, index) => {
    const status = feed.failures > 0 ? ` — last check failed: ${feed.lastError ?? "unknown"}` : "";
    return `${index + 1}. ${feed.title ? `${feed.title} — ` : ""}${feed.url}${status}`;
  });
  await bot.reply([`This chat follows ${mine.length} of at most ${FEED_CAPS.feedsPerChat} feeds:`, ...lines, "", "/unsub N stops one."].join("\n"));
}

export default defineBot({
  async message(msg, bot) {
    if (msg.reaction) return;
    switch (msg.command?.name) {
      case "sub":
      case "subscribe":
        return subscribe(msg, bot);
      case "unsub":
      case "unsubscribe":
        return unsubscribe(msg, bot);
      case "list":
        return list(msg, bot);
      case "help":
        return void (await bot.reply(HELP));
      default:
        // In a group people talk to each other: answer only what is meant for the bot.
        if (msg.chat.type === "single") await bot.reply(HELP);
    }
  },

  async tick(bot, tick) {
    await checkFeeds(bot, tick.at);
  },
});
