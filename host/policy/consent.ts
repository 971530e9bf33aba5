// Who a bot may write to (DESIGN §3.1, issue 4 item 6). A bot never writes first: it may write to
// a person who wrote to it in a 1:1 chat and has not sent /stop since, and to a group from which
// it got a message. `addToGroup` is writing to someone too, so it needs the same 1:1 consent.
// Only a 1:1 message is consent to 1:1 mail: writing in a group that contains the bot is not an
// invitation to be written to privately.
//
// /stop and /start are the host's, not the bot's: the service answers them before the bot sees
// the message (consentCommand, the texts below). In a group, /stop stops the sender, not the
// group; the service leaves stopped addresses out of the recipients of group mail (isStopped),
// so "no more messages" holds there too.
//
// File: <bot dir>/consent.json. Bounded by CONSENT_MAX_CONTACTS and CONSENT_MAX_GROUPS, the
// longest silent forgotten first. A /stop lives on the contact's own entry, so forgetting can
// only turn someone into a stranger (whom the bot may not write to) — never undo a /stop.
// With no file (null: `chatbot run`/`dev` and the test kit) the records live in memory only.
import { CONSENT_MAX_CONTACTS, CONSENT_MAX_GROUPS } from "../../core/limits.js";
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";
import type { Clock } from "../../core/clock.js";
import { Serial } from "./serial.js";

/** The reply to /stop that stopped the sender. */
export const STOP_TEXT = "You will get no more messages from this bot. Send /start to undo.";
/** The reply to /stop from someone already stopped. */
export const ALREADY_STOPPED_TEXT = "You already get no messages from this bot. Send /start to get them again.";
/** The reply to /start that undid a /stop. */
export const START_TEXT = "You will get messages from this bot again. Send /stop to end them.";
/** The reply to /start from someone not stopped. */
export const ALREADY_STARTED_TEXT = "You already get messages from this bot. Send /stop to end them.";

/**
 * Why consent holds back an action into a chat, as the relay logs it (`noConsent` of a bot.event
 * line) and the author's tools show it: E_NO_CONSENT (the chat never wrote to the bot: a person
 * never wrote 1:1, a group never sent a message), E_STOPPED (the person sent /stop).
 */
export type ConsentCode = "E_NO_CONSENT" | "E_STOPPED";

/** The group chat ids of the host start with this (host/wire/inbound.ts: "group:<id>"); any other chat id is a 1:1 chat. */
const GROUP_CHAT_PREFIX = "group:";

// A contact's entry is only rewritten when something changes or it is this old: one write a day per contact at most.
const REFRESH_MS = 24 * 60 * 60 * 1000;

/** "stop" or "start" when the whole message is that command (any case, surrounding space ignored); else undefined. */
export function consentCommand(text: string): "stop" | "start" | undefined {
  const command = text.trim().toLowerCase();
  return command === "/stop" ? "stop" : command === "/start" ? "start" : undefined;
}

/** The reply the host sends to /stop or /start; `changed` is what Consent.stop/start returned. */
export function consentReply(command: "stop" | "start", changed: boolean): string {
  if (command === "stop") return changed ? STOP_TEXT : ALREADY_STOPPED_TEXT;
  return changed ? START_TEXT : ALREADY_STARTED_TEXT;
}

interface ContactEntry {
  /** Last 1:1 message from them, ms since the epoch; absent if they never wrote 1:1. */
  wroteAt?: number;
  /** When they sent /stop, ms since the epoch; absent unless stopped. */
  stoppedAt?: number;
  /** Last change, for forgetting the longest silent first. */
  seenAt: number;
}

interface ConsentFile {
  contacts: Record<string, ContactEntry>;
  /** Group chat id → last message from the group, ms since the epoch. */
  groups: Record<string, number>;
}

/** The consent records of one bot. */
export class Consent {
  private readonly serial = new Serial();
  /** The file's content once read (this object must be the only writer of the file). */
  private data: { contacts: Map<string, ContactEntry>; groups: Map<string, number> } | undefined;

  constructor(
    /** The consent file; null keeps the records in memory only. */
    private readonly file: string | null,
    private readonly clock: Clock,
    private readonly bounds: { maxContacts: number; maxGroups: number } = { maxContacts: CONSENT_MAX_CONTACTS, maxGroups: CONSENT_MAX_GROUPS },
  ) {}

  /** Note a message that reached the bot from `from` in chat `chatId` (a 1:1 chat or "group:<id>"). */
  noteIncoming(chatId: string, from: string): Promise<void> {
    return this.serial.run(async () => {
      const now = this.clock.now();
      const data = await this.load();
      if (isGroup(chatId)) {
        const at = data.groups.get(chatId);
        if (at !== undefined && now - at < REFRESH_MS) return;
        data.groups.set(chatId, now);
      } else {
        const key = addrKey(from);
        const entry = data.contacts.get(key);
        if (entry?.wroteAt !== undefined && now - entry.wroteAt < REFRESH_MS) return;
        data.contacts.set(key, { ...entry, wroteAt: now, seenAt: now });
      }
      await this.save(data);
    });
  }

  /** Record /stop from `addr`; true if they were not stopped before. */
  stop(addr: string): Promise<boolean> {
    return this.serial.run(async () => {
      const now = this.clock.now();
      const data = await this.load();
      const key = addrKey(addr);
      const entry = data.contacts.get(key);
      if (entry?.stoppedAt !== undefined) return false;
      data.contacts.set(key, { ...entry, stoppedAt: now, seenAt: now });
      await this.save(data);
      return true;
    });
  }

  /** Record /start from `addr` (undoes /stop); true if they were stopped before. */
  start(addr: string): Promise<boolean> {
    return this.serial.run(async () => {
      const now = this.clock.now();
      const data = await this.load();
      const key = addrKey(addr);
      const entry = data.contacts.get(key);
      if (entry?.stoppedAt === undefined) return false;
      const { stoppedAt: _undone, ...rest } = entry;
      data.contacts.set(key, { ...rest, seenAt: now });
      await this.save(data);
      return true;
    });
  }

  /** Why the bot may not write to chat `chatId` (mayWrite's verdict with its reason), or undefined when it may. */
  writeRefusal(chatId: string): Promise<ConsentCode | undefined> {
    return this.serial.run(async () => {
      const data = await this.load();
      if (isGroup(chatId)) return data.groups.has(chatId) ? undefined : "E_NO_CONSENT";
      return refusal(data.contacts.get(addrKey(chatId)));
    });
  }

  /** Why the bot may not add `addr` to a group (mayAddToGroup's verdict with its reason), or undefined when it may. */
  addRefusal(addr: string): Promise<ConsentCode | undefined> {
    return this.serial.run(async () => refusal((await this.load()).contacts.get(addrKey(addr))));
  }

  /** May the bot write to chat `chatId`? 1:1: the person wrote first and has not sent /stop; group: a message came from the group. */
  async mayWrite(chatId: string): Promise<boolean> {
    return (await this.writeRefusal(chatId)) === undefined;
  }

  /** May the bot add `addr` to a group? Only a contact who wrote to it 1:1 first and has not sent /stop. */
  async mayAddToGroup(addr: string): Promise<boolean> {
    return (await this.addRefusal(addr)) === undefined;
  }

  /** True when `addr` sent /stop (and no /start since): leave them out of group mail too. */
  isStopped(addr: string): Promise<boolean> {
    return this.serial.run(async () => (await this.load()).contacts.get(addrKey(addr))?.stoppedAt !== undefined);
  }

  private async load(): Promise<{ contacts: Map<string, ContactEntry>; groups: Map<string, number> }> {
    if (this.data) return this.data;
    const data = this.file === null ? { contacts: {}, groups: {} } : await readJsonFile<ConsentFile>(this.file, { contacts: {}, groups: {} });
    this.data = { contacts: new Map(Object.entries(data.contacts)), groups: new Map(Object.entries(data.groups)) };
    return this.data;
  }

  // The callers changed the loaded maps in place: on a failed write they are read again from the file.
  private async save(data: { contacts: Map<string, ContactEntry>; groups: Map<string, number> }): Promise<void> {
    const contacts = [...data.contacts].sort((a, b) => b[1].seenAt - a[1].seenAt).slice(0, this.bounds.maxContacts);
    const groups = [...data.groups].sort((a, b) => b[1] - a[1]).slice(0, this.bounds.maxGroups);
    const file: ConsentFile = { contacts: Object.fromEntries(contacts), groups: Object.fromEntries(groups) };
    try {
      if (this.file !== null) await writeJsonFile(this.file, file);
      this.data = { contacts: new Map(contacts), groups: new Map(groups) };
    } catch (error) {
      this.data = undefined;
      throw error;
    }
  }
}

function isGroup(chatId: string): boolean {
  return chatId.startsWith(GROUP_CHAT_PREFIX);
}

// A /stop outranks never having written: someone who sent only /stop hears that they stopped the bot.
function refusal(entry: ContactEntry | undefined): ConsentCode | undefined {
  if (entry?.stoppedAt !== undefined) return "E_STOPPED";
  return entry?.wroteAt === undefined ? "E_NO_CONSENT" : undefined;
}

/** Addresses compare case-insensitively (as host/wire does). */
function addrKey(addr: string): string {
  return addr.trim().toLowerCase();
}
