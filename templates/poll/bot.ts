// The poll bot: "/poll Lunch? | Pizza | Sushi" sends a small webxdc app into the chat; people
// vote in it, and every vote reaches the bot as a webxdc status update. The bot counts one vote
// per address (the latest wins), puts the tally under the app's icon, and answers /results and
// /close. Everything it knows lives in bot.state: each event runs in a fresh sandbox.
import { defineBot, type Bot, type Message } from "chatbot/std";
import { countVotes, parsePoll, resultsText, summaryOf, voteOf, USAGE, type Poll } from "./poll.js";
import { pollXdc } from "./xdc.js";

const HELP = [
  "I run polls in this chat.",
  "",
  "/poll Lunch? | Pizza | Sushi | Salad — start a poll (2 to 12 options); vote in the app I send",
  "/results — the count of the latest poll here",
  "/close — end it and post the final results (only who started it)",
].join("\n");

/** Polls kept in state; starting one more forgets the oldest (its app then stops counting). */
const MAX_POLLS = 50;

// State keys: one per poll (by the app's Message-ID), the latest poll per chat, and the order.
const pollKey = (instanceId: string) => `poll:${instanceId}`;
const latestKey = (chatId: string) => `latest:${chatId}`;
const ORDER_KEY = "polls";

/** Send the app for a new poll and remember the poll under the app's Message-ID. */
async function startPoll(msg: Message, args: string, bot: Bot): Promise<void> {
  const parsed = parsePoll(args);
  if ("error" in parsed) {
    await bot.reply(parsed.error);
    return;
  }
  // bot.reply resolves to the Message-ID the app's mail will carry: status updates name it
  // (update.instanceId), so it is the poll's key.
  const instanceId = await bot.reply({
    text: `📊 ${parsed.question}\nOpen the app to vote. /results shows the count, /close ends the poll.`,
    file: { name: "poll.xdc", type: "application/webxdc+zip", data: pollXdc(parsed, msg.date) },
  });
  const poll: Poll = { ...parsed, chatId: msg.chat.id, creator: msg.from.addr.toLowerCase(), created: bot.now(), votes: {} };
  await bot.state.set(pollKey(instanceId), poll);
  await bot.state.set(latestKey(msg.chat.id), instanceId);

  const order = [...((await bot.state.get<string[]>(ORDER_KEY)) ?? []), instanceId];
  while (order.length > MAX_POLLS) {
    const oldest = order.shift()!;
    const old = await bot.state.get<Poll>(pollKey(oldest));
    await bot.state.delete(pollKey(oldest));
    if (old && (await bot.state.get(latestKey(old.chatId))) === oldest) await bot.state.delete(latestKey(old.chatId));
  }
  await bot.state.set(ORDER_KEY, order);
}

/** The latest poll of the message's chat, with its instance id, or undefined (after telling the user). */
async function latestPoll(msg: Message, bot: Bot): Promise<{ instanceId: string; poll: Poll } | undefined> {
  const instanceId = await bot.state.get<string>(latestKey(msg.chat.id));
  const poll = instanceId === undefined ? undefined : await bot.state.get<Poll>(pollKey(instanceId));
  if (instanceId === undefined || poll === undefined) {
    await bot.reply(`There is no poll in this chat yet. ${USAGE}`);
    return undefined;
  }
  return { instanceId, poll };
}

/** End the latest poll: the final results as a message, and the app switches to them. */
async function closePoll(msg: Message, bot: Bot): Promise<void> {
  const latest = await latestPoll(msg, bot);
  if (!latest) return;
  const { instanceId, poll } = latest;
  if (poll.closed !== undefined) {
    await bot.reply(`This poll is already closed.\n\n${resultsText(poll)}`);
    return;
  }
  if (msg.from.addr.toLowerCase() !== poll.creator) {
    await bot.reply(`Only ${poll.creator}, who started this poll, can close it.`);
    return;
  }
  poll.closed = bot.now();
  await bot.state.set(pollKey(instanceId), poll);
  await bot.reply(resultsText(poll));
  await bot.webxdc.send(instanceId, { payload: { type: "closed", counts: countVotes(poll) }, summary: summaryOf(poll) }, poll.chatId);
}

export default defineBot({
  async message(msg, bot) {
    // A reaction to one of the bot's messages is no command.
    if (msg.reaction) return;
    switch (msg.command?.name) {
      case "poll":
        return startPoll(msg, msg.command.args, bot);
      case "results": {
        const latest = await latestPoll(msg, bot);
        if (latest) await bot.reply(resultsText(latest.poll));
        return;
      }
      case "close":
        return closePoll(msg, bot);
      case "help":
        await bot.reply(HELP);
        return;
      default:
        // In a group the bot reads every message: it stays quiet unless it is spoken to.
        if (msg.chat.type === "single") await bot.reply(HELP);
    }
  },

  // A status update from someone's poll app: a vote, a changed vote, or a vote taken back.
  async webxdc(update, bot) {
    const poll = await bot.state.get<Poll>(pollKey(update.instanceId));
    // Unknown or forgotten apps, closed polls, and an app that is not in the poll's chat: ignored.
    if (!poll || poll.closed !== undefined || update.chat.id !== poll.chatId) return;
    const option = voteOf(update.payload, poll);
    if (option === undefined) return;
    // The voter is the mail's verified sender, not anything the payload claims.
    const voter = update.from.addr.toLowerCase();
    const previous = poll.votes[voter];
    if (option === previous || (option === null && previous === undefined)) return;
    if (option === null) delete poll.votes[voter];
    else poll.votes[voter] = option;
    await bot.state.set(pollKey(update.instanceId), poll);
    // The tally under the app's icon in everyone's chat, and the official count for the app.
    await bot.webxdc.send(update.instanceId, { payload: { type: "tally", counts: countVotes(poll) }, summary: summaryOf(poll) }, poll.chatId);
  },
});
