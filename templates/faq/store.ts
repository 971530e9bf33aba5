// What the FAQ bot keeps in bot.state, and the caps that keep it small:
//   "chat:<chat id>" → { entries, admins }   one key per chat that has answers or admins
//   "cooldowns"      → [[chat id, answer id, ms], …]   answers given in groups, recent ones only
// A 1:1 chat's id is the person's address, a group's is "group:<id>": each chat has its own key.
import type { Bot } from "chatbot/std";
import type { Entry } from "./match.js";

/** One chat's own answers and the people who may change them (lowercase addresses). */
export interface ChatRecord {
  entries: Entry[];
  admins: string[];
}

const CHAT_PREFIX = "chat:";
const COOLDOWNS_KEY = "cooldowns";
/** At most this many recent answers are remembered for cooldowns (≈ 60 bytes each). */
export const COOLDOWNS_KEPT = 200;

/** The record of `chatId`, or an empty one. */
export async function loadChat(bot: Bot, chatId: string): Promise<ChatRecord> {
  return (await bot.state.get<ChatRecord>(CHAT_PREFIX + chatId)) ?? { entries: [], admins: [] };
}

/**
 * Save a chat's record unless all chats' records together would then be over `maxBytes`
 * (counted as the host counts its quota: key plus JSON value, in UTF-8); false when they would.
 * An empty record is deleted, so a chat that removed everything costs nothing.
 */
export async function saveChat(bot: Bot, chatId: string, record: ChatRecord, maxBytes: number): Promise<boolean> {
  const key = CHAT_PREFIX + chatId;
  if (record.entries.length === 0 && record.admins.length === 0) {
    await bot.state.delete(key);
    return true;
  }
  // Edits are rare, so adding up every chat's record here is cheaper than keeping a running total.
  let total = entryBytes(key, record);
  for (const other of await bot.state.keys()) {
    if (other.startsWith(CHAT_PREFIX) && other !== key) total += entryBytes(other, await bot.state.get(other));
  }
  if (total > maxBytes) return false;
  await bot.state.set(key, record);
  return true;
}

/**
 * May answer `id` be given in `chatId` now? Yes when it was not given there in the last
 * `windowMs`; then it is noted as given at `bot.now()`. Entries older than the window are
 * dropped, and only the newest COOLDOWNS_KEPT are kept, so the key stays small.
 */
export async function takeCooldown(bot: Bot, chatId: string, id: string, windowMs: number): Promise<boolean> {
  if (windowMs <= 0) return true;
  const now = bot.now();
  const recent = ((await bot.state.get<Array<[string, string, number]>>(COOLDOWNS_KEY)) ?? []).filter(([, , at]) => now - at < windowMs);
  if (recent.some(([chat, answer]) => chat === chatId && answer === id)) return false;
  recent.push([chatId, id, now]);
  await bot.state.set(COOLDOWNS_KEY, recent.slice(-COOLDOWNS_KEPT));
  return true;
}

function entryBytes(key: string, value: unknown): number {
  return utf8Length(key) + utf8Length(JSON.stringify(value) ?? "");
}

/** Bytes of `text` in UTF-8 (a lone surrogate counts 3, as its replacement character). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}
