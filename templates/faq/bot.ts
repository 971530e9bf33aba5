// The FAQ bot: answers the commands and keywords configured below, and lets every chat keep its
// own extra answers (/add, /remove, /list). Edit CONFIG, then try it with `npx chatbot dev`.
//
// The host runs this file once per incoming message, in a fresh sandbox: everything the bot
// remembers (each chat's answers and admins, when it last answered a keyword) is in `bot.state`
// (see store.ts). match.ts decides which answer a message gets.
import { defineBot, type Bot, type Message } from "chatbot/std";
import { answerFor, answerForCommand, normalize, type KeywordRule } from "./match.js";
import { loadChat, saveChat, takeCooldown, type ChatRecord } from "./store.js";

// ─── Configuration: edit this part ──────────────────────────────────────────────────────────

const CONFIG: FaqConfig = {
  /** The first line of /help. */
  intro: "I answer the usual questions here. Ask me, or use a command:",
  /** Commands anyone can use: `/rules` answers with `answer`; `about` is its line in /help. */
  commands: {
    rules: { about: "the rules of this group", answer: "1. Be kind.\n2. Stay on topic.\n3. No spam or ads." },
    links: { about: "useful links", answer: "Website: https://example.org\nCalendar: https://example.org/events" },
  },
  /**
   * Keyword answers for every chat: a message that contains one of the words or phrases in
   * `match` gets `answer`. Case, punctuation and spacing are ignored and only whole words match
   * ("open" does not match "opener"). `/wifi` asks for the keyword "wifi" directly.
   */
  keywords: [
    { match: ["opening hours", "when are you open"], answer: "We are open Monday to Friday, 9:00–17:00." },
    { match: ["wifi", "wi-fi"], answer: "Network: Guests, password: welcome2025" },
  ],
  /** In a group, the same keyword is answered at most once per this many minutes (0: every time). */
  cooldownMinutes: 10,
  /** In groups, may every member /add and /remove answers? false: only the group's admins may. */
  everyoneMayEdit: false,
  /** Addresses that may edit every chat's answers, e.g. your own: ["you@example.org"]. */
  owners: [],
  /** Caps that keep the bot's state small; the bot says which one was hit. */
  caps: {
    entriesPerChat: 25,
    keywordChars: 40,
    answerChars: 500,
    adminsPerChat: 10,
    /** All chats' own answers and admins together, in bytes of bot.state (the host allows 1 MiB). */
    storedBytes: 300_000,
  },
};

// ─── The bot ─────────────────────────────────────────────────────────────────────────────────

/** The shape of CONFIG: a misspelt key is a type error (`npm run typecheck`), not a silent no-op. */
interface FaqConfig {
  intro: string;
  commands: Record<string, { about: string; answer: string }>;
  keywords: KeywordRule[];
  cooldownMinutes: number;
  everyoneMayEdit: boolean;
  owners: string[];
  caps: { entriesPerChat: number; keywordChars: number; answerChars: number; adminsPerChat: number; storedBytes: number };
}

/** Commands this file handles itself; a CONFIG command with one of these names is never used. */
const BUILT_IN = ["help", "add", "remove", "list", "admin"];

export default defineBot({
  async message(msg, bot) {
    // A reaction arrives as a message too (its text is the emoji): nothing to answer.
    if (msg.reaction) return;
    if (msg.command) return command(msg, msg.command.name, msg.command.args, bot);

    const record = await loadChat(bot, msg.chat.id);
    const found = answerFor(msg.text, record.entries, CONFIG.keywords);
    if (!found) {
      // In a group the bot speaks only when asked; in a 1:1 chat silence would look broken.
      if (msg.chat.type === "single") await bot.reply("I have no answer for that. Send /help to see what I know.");
      return;
    }
    // The cooldown keeps a busy group from hearing the same answer over and over.
    if (msg.chat.type === "group" && !(await takeCooldown(bot, msg.chat.id, found.id, CONFIG.cooldownMinutes * 60_000))) return;
    await bot.reply(found.answer);
  },
});

async function command(msg: Message, name: string, args: string, bot: Bot): Promise<void> {
  switch (name) {
    case "help":
      return say(bot, helpText(await loadChat(bot, msg.chat.id)));
    case "list":
      return say(bot, listText(await loadChat(bot, msg.chat.id)));
    case "add":
      return add(msg, args, bot);
    case "remove":
      return remove(msg, args, bot);
    case "admin":
      return admin(msg, args, bot);
  }
  const configured = Object.hasOwn(CONFIG.commands, name) ? CONFIG.commands[name] : undefined;
  if (configured) return say(bot, configured.answer);
  // An explicit question, so no cooldown.
  const answer = answerForCommand(name, (await loadChat(bot, msg.chat.id)).entries, CONFIG.keywords);
  if (answer !== undefined) return say(bot, answer);
  // In a group another bot may own the command: stay quiet there.
  if (msg.chat.type === "single") await say(bot, `I don't know /${name}. Send /help for the commands.`);
}

/** `/add keyword = answer`: add an answer to this chat, or change it. */
async function add(msg: Message, args: string, bot: Bot): Promise<void> {
  const { keywordChars, answerChars, entriesPerChat, storedBytes } = CONFIG.caps;
  const equals = args.indexOf("=");
  const keyword = normalize(equals < 0 ? "" : args.slice(0, equals));
  const answer = equals < 0 ? "" : args.slice(equals + 1).trim();
  if (keyword === "" || answer === "") return say(bot, "Usage: /add keyword = answer\nFor example: /add parking = Park behind the hall, it is free.");
  if (keyword.length > keywordChars) return say(bot, `That keyword has ${keyword.length} characters; the most is ${keywordChars}.`);
  if (answer.length > answerChars) return say(bot, `That answer has ${answer.length} characters; the most is ${answerChars}.`);

  const record = await loadChat(bot, msg.chat.id);
  const permission = mayEdit(record, msg, CONFIG.everyoneMayEdit);
  if (permission === "no") return say(bot, notAllowed(record));
  const existing = record.entries.find((e) => e.keyword === keyword);
  if (existing) existing.answer = answer;
  else if (record.entries.length >= entriesPerChat) {
    return say(bot, `This chat already has ${entriesPerChat} answers, the most it can keep. /remove one first (/list shows them).`);
  } else record.entries.push({ keyword, answer });
  if (permission === "claim") record.admins.push(sender(msg));
  if (!(await saveChat(bot, msg.chat.id, record, storedBytes))) {
    return say(bot, "The bot's storage for answers is full (all chats together). /remove an answer, or ask the bot's owner.");
  }
  const done = `${existing ? "Changed" : "Added"} "${keyword}": a message with those words gets that answer now.`;
  await say(bot, permission === "claim" ? `${done}\n\n${CLAIMED}` : done);
}

/** `/remove keyword`: remove one of this chat's answers. */
async function remove(msg: Message, args: string, bot: Bot): Promise<void> {
  const keyword = normalize(args);
  if (keyword === "") return say(bot, "Usage: /remove keyword (/list shows this chat's answers)");
  const record = await loadChat(bot, msg.chat.id);
  const permission = mayEdit(record, msg, CONFIG.everyoneMayEdit);
  if (permission === "no") return say(bot, notAllowed(record));
  const index = record.entries.findIndex((e) => e.keyword === keyword);
  if (index < 0) return say(bot, `This chat has no answer for "${keyword}". /list shows the ones it has.`);
  record.entries.splice(index, 1);
  if (permission === "claim") record.admins.push(sender(msg));
  // Removing an entry frees more than a claim adds, so this save always fits.
  await saveChat(bot, msg.chat.id, record, Infinity);
  await say(bot, permission === "claim" ? `Removed "${keyword}".\n\n${CLAIMED}` : `Removed "${keyword}".`);
}

/** `/admin`, `/admin add ADDR`, `/admin remove ADDR`: who may change a group's answers. */
async function admin(msg: Message, args: string, bot: Bot): Promise<void> {
  if (msg.chat.type === "single") return say(bot, "This is your own chat with me: only you can change its answers.");
  const record = await loadChat(bot, msg.chat.id);
  const [verb = "", addrArg = "", ...rest] = args.split(/\s+/).filter((w) => w !== "");
  if (verb === "") return say(bot, adminList(record));
  const addr = addrArg.toLowerCase();
  if ((verb !== "add" && verb !== "remove") || rest.length > 0 || !/^[^\s@]+@[^\s@]+$/.test(addr) || addr.length > 254) {
    return say(bot, "Usage: /admin (who may edit), /admin add ADDR, /admin remove ADDR");
  }
  // Even where everyone may edit answers, only admins choose admins.
  const permission = mayEdit(record, msg, false);
  if (permission === "no") return say(bot, notAllowed(record, "choose its admins"));
  if (verb === "remove") {
    if (!record.admins.includes(addr)) return say(bot, `${addr} is not an admin here. ${adminList(record)}`);
    record.admins = record.admins.filter((a) => a !== addr);
  } else {
    if (record.admins.includes(addr)) return say(bot, `${addr} is already an admin here.`);
    if (permission === "claim" && addr !== sender(msg)) record.admins.push(sender(msg));
    if (record.admins.length >= CONFIG.caps.adminsPerChat) {
      return say(bot, `This group already has ${CONFIG.caps.adminsPerChat} admins, the most it can have. /admin remove one first.`);
    }
    record.admins.push(addr);
  }
  if (!(await saveChat(bot, msg.chat.id, record, CONFIG.caps.storedBytes))) {
    return say(bot, "The bot's storage is full (all chats together); ask the bot's owner.");
  }
  await say(bot, `${verb === "add" ? `${addr} may now change this group's answers.` : `${addr} is no longer an admin here.`}\n${adminList(record)}`);
}

/**
 * May the sender change this chat's answers? In a 1:1 chat it is their own chat; owners may
 * everywhere. A group nobody has claimed yet is claimed by the first person who edits it
 * ("claim": the caller adds them to the admins). Delta Chat does not tell bots who the group's
 * creator is, so this is the closest the bot can get.
 */
function mayEdit(record: ChatRecord, msg: Message, everyoneMayEdit: boolean): "yes" | "claim" | "no" {
  const from = sender(msg);
  if (msg.chat.type === "single" || everyoneMayEdit) return "yes";
  if (CONFIG.owners.some((owner) => owner.toLowerCase() === from) || record.admins.includes(from)) return "yes";
  return record.admins.length === 0 ? "claim" : "no";
}

// ─── Texts ───────────────────────────────────────────────────────────────────────────────────

const CLAIMED = "You are now an admin of this group's answers (the first to change them). /admin add ADDR makes someone else one.";

function helpText(record: ChatRecord): string {
  const commands = Object.entries(CONFIG.commands)
    .filter(([name]) => !BUILT_IN.includes(name))
    .map(([name, c]) => `/${name} — ${c.about}`);
  const keywords = CONFIG.keywords.flatMap((k) => k.match.slice(0, 1));
  const known = [
    ...(keywords.length > 0 ? [`I also answer messages that mention: ${keywords.join(", ")}.`] : []),
    ...(record.entries.length > 0 ? [`This chat has ${record.entries.length} answers of its own: /list shows them.`] : []),
  ];
  return [
    [CONFIG.intro, "/help — this text", ...commands].join("\n"),
    ...(known.length > 0 ? [known.join("\n")] : []),
    [
      "Teach me answers for this chat:",
      "/add keyword = answer — add or change one",
      "/remove keyword — remove one",
      "/list — this chat's answers",
      "/admin — who may change them in a group",
    ].join("\n"),
  ].join("\n\n");
}

function listText(record: ChatRecord): string {
  const own = record.entries.map((e) => `• ${e.keyword} → ${preview(e.answer)}`);
  const builtIn = CONFIG.keywords.map((k) => `• ${k.match.join(" / ")} → ${preview(k.answer)}`);
  return [
    own.length > 0
      ? `This chat's answers (${own.length} of at most ${CONFIG.caps.entriesPerChat}):\n${own.join("\n")}`
      : "This chat has no answers of its own yet. Add one with /add keyword = answer",
    ...(builtIn.length > 0 ? [`Built in:\n${builtIn.join("\n")}`] : []),
  ].join("\n\n");
}

function adminList(record: ChatRecord): string {
  const everyone = CONFIG.everyoneMayEdit ? "Everyone in this group may change its answers; admins choose admins. " : "";
  if (record.admins.length === 0) return `${everyone}This group has no admins yet: the first person to /add or /remove an answer becomes one.`;
  return `${everyone}Admins of this group's answers: ${record.admins.join(", ")}`;
}

function notAllowed(record: ChatRecord, what = "change its answers"): string {
  return `Only this group's admins may ${what}. ${adminList(record)}`;
}

/** The first 60 characters of an answer, on one line. */
function preview(text: string): string {
  const line = text.replace(/\s+/g, " ");
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
}

function sender(msg: Message): string {
  return msg.from.addr.toLowerCase();
}

async function say(bot: Bot, text: string): Promise<void> {
  await bot.reply(text);
}
