// Bot-to-bot exchanges are bounded (issue 9, defect 7). Two bots that answer each other — two of
// this host's bots on one relay, or one of ours and a bot elsewhere — would otherwise write
// forever. A bot runs on at most BOT_EXCHANGE_EVENTS_PER_HOUR events from one automated sender in
// any rolling hour; later mail from that sender is dropped, and a dropped mail is not answered, so
// the exchange stops there (each side runs at most the bound, then the chain is broken).
// Who is automated is decided by the caller (inbound.ts): another bot of this host — known from
// the data dir, whatever headers its mail has — or mail whose protected headers say
// `Auto-Submitted: auto-generated`. A hostile bot elsewhere can leave the header out; it then
// counts as a person, and the per-user limits (user-limits.ts) bound it instead.
// Exact sliding window: one timestamp per event, at most the bound per sender. `quietUntil` makes
// the refusal logged once: the first mail refused is reported with `notify`, the next ones until
// the window frees up are not.
// File: <bot dir>/exchanges.json, read once and kept in memory, written on each event from an
// automated sender (mail from people never touches it). Bounded by BOT_EXCHANGE_MAX_SENDERS (the longest silent go first) and
// by age (a sender silent for an hour has nothing left to count).
import { BOT_EXCHANGE_EVENTS_PER_HOUR, BOT_EXCHANGE_MAX_SENDERS } from "../../core/limits.js";
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";
import { Serial } from "./serial.js";
import type { Clock } from "../../core/clock.js";

/** The window the bound counts over, ms. */
export const EXCHANGE_WINDOW_MS = 60 * 60_000;

/** What one automated sender has cost a bot in the current window. */
export interface ExchangeRecord {
  /** When each counted event was admitted, ms since the epoch, oldest first. */
  events: number[];
  /** Refusals before this time are not reported again, ms since the epoch. */
  quietUntil?: number;
}

/** The bound: events per window. */
export interface ExchangeBound {
  eventsPerHour: number;
  maxSenders: number;
}

/** What the guard decided for one event. */
export type ExchangeVerdict =
  | { allowed: true }
  /** `notify`: the first refusal of this window, the one to log; `resumesAt`: when one event fits again. */
  | { allowed: false; notify: boolean; resumesAt: number; eventsPerHour: number };

/** Decide one event at `now` on `record` (pure): the verdict and the record to keep. */
export function admitExchange(record: ExchangeRecord | undefined, now: number, eventsPerHour: number): { verdict: ExchangeVerdict; record: ExchangeRecord } {
  const events = (record?.events ?? []).filter((at) => at > now - EXCHANGE_WINDOW_MS && at <= now);
  if (events.length < eventsPerHour) return { verdict: { allowed: true }, record: { events: [...events, now] } };
  const resumesAt = events[events.length - eventsPerHour]! + EXCHANGE_WINDOW_MS;
  const notify = !(record?.quietUntil !== undefined && now < record.quietUntil);
  return { verdict: { allowed: false, notify, resumesAt, eventsPerHour }, record: { events, quietUntil: notify ? resumesAt : record!.quietUntil! } };
}

/** The per-sender counts of one bot, in its account folder. */
export class LoopGuard {
  private readonly serial = new Serial();
  /** The file's content, read once (this guard is its only writer: one account object per bot). */
  private senders: Record<string, ExchangeRecord> | undefined;

  constructor(
    private readonly file: string,
    private readonly clock: Clock,
    private readonly bound: ExchangeBound = { eventsPerHour: BOT_EXCHANGE_EVENTS_PER_HOUR, maxSenders: BOT_EXCHANGE_MAX_SENDERS },
  ) {}

  /** Count one event from the automated sender `sender`, or refuse it over the bound; durable when it resolves. */
  admit(sender: string): Promise<ExchangeVerdict> {
    return this.serial.run(async () => {
      const now = this.clock.now();
      const all = (this.senders ??= await readJsonFile<Record<string, ExchangeRecord>>(this.file, {}));
      const key = sender.toLowerCase();
      const { verdict, record } = admitExchange(all[key], now, this.bound.eventsPerHour);
      // Only senders with something left to count are kept, the most recently active last.
      const kept = Object.entries(all).filter(([addr, r]) => addr !== key && r.events.some((at) => at > now - EXCHANGE_WINDOW_MS));
      kept.sort(([, a], [, b]) => (a.events.at(-1) ?? 0) - (b.events.at(-1) ?? 0));
      kept.push([key, record]);
      const next = Object.fromEntries(kept.slice(-this.bound.maxSenders));
      await writeJsonFile(this.file, next);
      this.senders = next;
      return verdict;
    });
  }
}
