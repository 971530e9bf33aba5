// The reminder bot: "/remind 2h tea" and the bot writes "⏰ Reminder: tea" into the chat later.
//
// Reminders are delivered by the hourly tick ("schedule": "hourly"): each tick sends every
// reminder that is due by then. So a reminder arrives at the first tick at or after its time —
// up to an hour late — and the bot says so when it takes one. A bot cannot wake itself at an
// exact minute: it runs only when a message arrives or its tick is due.
import { defineBot, type Bot, type Message } from "chatbot/std";
import { REMINDER_CAPS, loadAll, loadReminders, nextId, saveReminders, type Reminder } from "./reminder-store.js";
import { formatDuration, formatUtc, parseLeadingDuration } from "./when.js";

/** Reminders sent per tick (the host allows 100 actions per event); the rest go at the next tick. */
const SENDS_PER_TICK = 80;
/** How often the tick runs, ms: what "up to an hour late" means. */
const TICK_PERIOD_MS = 60 * 60 * 1000;

const HELP = [
  "I remind you of things.",
  "",
  '/remind 2h tea — remind me in 2 hours (also 30m, 1d, 1h30m, 1w, "2 hours")',
  "/reminders — your reminders in this chat",
  "/cancel N — cancel reminder N (/cancel all cancels all of yours here)",
  "/help — this text",
  "",
  "I look at reminders once an hour, so one arrives within the hour after its time — good for",
  '"in 2 hours" or "tomorrow" (/remind 1d …), not for "in 5 minutes". Times are shown in UTC.',
].join("\n");

const USAGE = "Send /remind, how long from now, and what to remind you of, e.g. /remind 2h tea or /remind 1h30m call Bob.";

async function remind(msg: Message, bot: Bot): Promise<void> {
  const parsed = parseLeadingDuration(msg.command?.args ?? "");
  if (!parsed) return void (await bot.reply(USAGE));
  if (parsed.rest === "") return void (await bot.reply(`What should I remind you of? ${USAGE}`));
  if (parsed.ms < REMINDER_CAPS.minAheadMs) return void (await bot.reply(`That is less than a minute from now. ${USAGE}`));
  if (parsed.ms > REMINDER_CAPS.maxAheadMs) return void (await bot.reply("I keep reminders for at most a year."));
  if (parsed.rest.length > REMINDER_CAPS.textChars)
    return void (await bot.reply(`That text is longer than ${REMINDER_CAPS.textChars} characters; please shorten it.`));

  const addr = msg.from.addr;
  const mine = await loadReminders(bot, addr);
  if (mine.length >= REMINDER_CAPS.perUser) {
    return void (await bot.reply(`You have ${mine.length} reminders waiting, the most I keep per person. /reminders lists them; /cancel N removes one.`));
  }
  let total = 0;
  for (const list of (await loadAll(bot)).values()) total += list.length;
  if (total >= REMINDER_CAPS.total) return void (await bot.reply("I am holding as many reminders as I can right now; please try again later."));

  const now = bot.now();
  const reminder: Reminder = {
    id: nextId(mine, msg.chat.id),
    chatId: msg.chat.id,
    name: msg.from.name || addr,
    text: parsed.rest,
    due: now + parsed.ms,
    created: now,
  };
  await saveReminders(bot, addr, [...mine, reminder]);
  const latest = reminder.due + TICK_PERIOD_MS;
  await bot.reply(
    `Reminder #${reminder.id} set: "${reminder.text}", due in ${formatDuration(parsed.ms)} at ${formatUtc(reminder.due, now)}. ` +
      `I look at reminders once an hour, so it arrives between ${formatUtc(reminder.due, now)} and ${formatUtc(latest, now)}.`,
  );
}

/** The sender's reminders in this chat, soonest first. */
function inChat(list: readonly Reminder[], chatId: string): Reminder[] {
  return list.filter((r) => r.chatId === chatId).sort((a, b) => a.due - b.due || a.id - b.id);
}

async function listReminders(msg: Message, bot: Bot): Promise<void> {
  const mine = inChat(await loadReminders(bot, msg.from.addr), msg.chat.id);
  if (mine.length === 0) return void (await bot.reply("You have no reminders in this chat. /remind 2h tea sets one."));
  const now = bot.now();
  const lines = mine.map((r) => `#${r.id} ${formatUtc(r.due, now)} — ${r.text}`);
  await bot.reply([`Your reminders in this chat (each arrives within the hour after its time):`, ...lines, "", "/cancel N cancels one."].join("\n"));
}

async function cancel(msg: Message, bot: Bot): Promise<void> {
  const args = (msg.command?.args ?? "").trim().replace(/^#/, "");
  const all = await loadReminders(bot, msg.from.addr);
  const here = inChat(all, msg.chat.id);
  if (args.toLowerCase() === "all") {
    await saveReminders(
      bot,
      msg.from.addr,
      all.filter((r) => r.chatId !== msg.chat.id),
    );
    return void (await bot.reply(
      here.length === 0 ? "You have no reminders in this chat." : `Cancelled your ${here.length} reminder${here.length === 1 ? "" : "s"} in this chat.`,
    ));
  }
  if (!/^\d{1,6}$/.test(args)) return void (await bot.reply("Send /cancel and the reminder's number from /reminders, e.g. /cancel 1."));
  const target = here.find((r) => r.id === Number(args));
  if (!target) return void (await bot.reply(`You have no reminder #${args} in this chat. /reminders lists them.`));
  await saveReminders(
    bot,
    msg.from.addr,
    all.filter((r) => r !== target),
  );
  await bot.reply(`Cancelled reminder #${target.id}: "${target.text}".`);
}

/** The text of a reminder delivered at `now`. */
function deliveryText(reminder: Reminder, now: number): string {
  const who = reminder.chatId.startsWith("group:") ? ` for ${reminder.name}` : "";
  const lines = [`⏰ Reminder${who}: ${reminder.text}`];
  // Up to a tick late is what the bot promised; later than that (the host was down) is worth saying.
  if (now - reminder.due > TICK_PERIOD_MS + 5 * 60_000) lines.push(`(it was due at ${formatUtc(reminder.due, now)}; I could not send it earlier)`);
  return lines.join("\n");
}

/** Send what is due at `now`, soonest first, at most SENDS_PER_TICK; the rest wait for the next tick. */
async function deliver(bot: Bot, now: number): Promise<void> {
  const all = await loadAll(bot);
  const due: Array<{ addr: string; reminder: Reminder }> = [];
  for (const [addr, list] of all) for (const reminder of list) if (reminder.due <= now) due.push({ addr, reminder });
  due.sort((a, b) => a.reminder.due - b.reminder.due);
  const sent = new Set<Reminder>();
  for (const { reminder } of due.slice(0, SENDS_PER_TICK)) {
    await bot.send(reminder.chatId, deliveryText(reminder, now));
    sent.add(reminder);
  }
  for (const [addr, list] of all) {
    const left = list.filter((r) => !sent.has(r));
    if (left.length !== list.length) await saveReminders(bot, addr, left);
  }
}

export default defineBot({
  async message(msg, bot) {
    if (msg.reaction) return;
    switch (msg.command?.name) {
      case "remind":
        return remind(msg, bot);
      case "reminders":
        return listReminders(msg, bot);
      case "cancel":
        return cancel(msg, bot);
      case "help":
        return void (await bot.reply(HELP));
      default:
        // In a group people talk to each other: answer only what is meant for the bot.
        if (msg.chat.type === "single") await bot.reply(HELP);
    }
  },

  async tick(bot, tick) {
    // The tick's slot time, or later if the host ran it late: whatever is due by now goes.
    await deliver(bot, Math.max(tick.at, bot.now()));
  },
});
