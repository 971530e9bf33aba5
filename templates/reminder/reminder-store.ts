// What the reminder bot keeps in bot.state: one key per person, "user:<addr>", holding their
// pending reminders. Every list is capped, so the state stays far below the host's 1 MiB quota.
import type { Bot } from "chatbot/std";

/** Caps of the reminder bot, checked before state grows. */
export const REMINDER_CAPS = Object.freeze({
  /** Pending reminders per person (over all chats). */
  perUser: 20,
  /** Pending reminders in all: 1000 × ~400 bytes stays well inside the 1 MiB state quota. */
  total: 1000,
  /** Characters of a reminder's text. */
  textChars: 280,
  /** How far ahead a reminder may be set, ms (a year). */
  maxAheadMs: 366 * 24 * 60 * 60 * 1000,
  /** The shortest delay, ms. */
  minAheadMs: 60 * 1000,
});

/** One pending reminder. */
export interface Reminder {
  /** Its number for /cancel: unique among the person's reminders in that chat. */
  id: number;
  /** Where it is delivered (where /remind was sent). */
  chatId: string;
  /** The person's name, for the "Reminder for …" line in groups. */
  name: string;
  text: string;
  /** When it is due, ms since the epoch. */
  due: number;
  /** When it was set, ms since the epoch. */
  created: number;
}

const PREFIX = "user:";

/** A person's reminders (all chats). */
export async function loadReminders(bot: Bot, addr: string): Promise<Reminder[]> {
  const list = await bot.state.get<Reminder[]>(PREFIX + addr);
  return Array.isArray(list) ? list : [];
}

/** Store a person's reminders; an empty list removes the key. */
export async function saveReminders(bot: Bot, addr: string, list: readonly Reminder[]): Promise<void> {
  if (list.length === 0) await bot.state.delete(PREFIX + addr);
  else await bot.state.set(PREFIX + addr, list);
}

/** Everyone's reminders, by address. */
export async function loadAll(bot: Bot): Promise<Map<string, Reminder[]>> {
  const all = new Map<string, Reminder[]>();
  for (const key of await bot.state.keys()) {
    if (key.startsWith(PREFIX)) all.set(key.slice(PREFIX.length), await loadReminders(bot, key.slice(PREFIX.length)));
  }
  return all;
}

/** The smallest number not used by the person's reminders in `chatId`. */
export function nextId(list: readonly Reminder[], chatId: string): number {
  const used = new Set(list.filter((r) => r.chatId === chatId).map((r) => r.id));
  let id = 1;
  while (used.has(id)) id++;
  return id;
}
