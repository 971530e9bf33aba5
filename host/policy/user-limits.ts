// Per-user limits of one bot (DESIGN §3.2 `limits.perUser`, issue 4): how many mails, bytes and CPU
// milliseconds one sender may cost the bot in any rolling hour, and mails in any rolling day. The
// limits come in already resolved (manifest values capped by the operator's ceilings).
//
// Windows: sliding, kept as buckets (host/policy/rolling-window.ts): one-minute buckets for the
// hourly limits, 15-minute buckets for the daily one. A sliding window has no instant at which
// every user's budget refills at once, and never lets through twice the limit across a boundary.
//
// Notices: when a mail is refused the service may tell the user once; `notify` is true only for
// the first refusal of a limit until that limit frees up again, so a user who keeps writing gets
// one notice per window, not one per mail.
//
// File: <bot dir>/usage.json, one per bot, compact JSON (an indented bucket list is three times the
// bytes and the file is rewritten per mail). Bounded: a user's record goes when every bucket has
// expired (a day — plus at most one 15-minute bucket — after their last mail) and at most
// USER_USAGE_MAX_USERS are kept (the least recently active go first; that only forgets their counts,
// and the per-bot CPU budget still bounds the whole bot).
// With no file (null: `chatbot run`/`dev` and the test kit) the counts live in memory only.
// Read once and kept in memory (this object must be the only writer of the file). With
// `deferWrites` (the service) a change is written by `flush()` — the service flushes at most every
// POLICY_FLUSH_MS and within that long of a change — not once per mail: a crash loses at most
// the counts since the last flush (a user may then get that many mails more), never an event.
import { USER_USAGE_MAX_USERS, type PerUserLimits } from "../../core/limits.js";
import { readJsonFile, writePrivateFile } from "../storage/json-file.js";
import type { Clock } from "../../core/clock.js";
import { DAY_WINDOW, HOUR_WINDOW, add, fitsAt, live, total, type Buckets, type WindowSpec } from "./rolling-window.js";
import { Serial } from "./serial.js";

/** What one event of a user cost. */
export interface UserCost {
  /** Mails handled (1 per incoming mail). */
  mails?: number;
  /** Bytes of the incoming mail. */
  bytes?: number;
  /** Guest CPU time the event used, ms. */
  cpuMs?: number;
}

/** The answer of UserUsage.check. */
export type UserVerdict =
  | { allowed: true }
  | {
      allowed: false;
      /** The limit that holds the user back longest (when several are reached). */
      limit: keyof PerUserLimits;
      /** That limit's value, e.g. 60 for 60 mails per hour. */
      value: number;
      /** What the user has used of it in the current window. */
      used: number;
      /** When the user may write again as far as this limit goes, ms since the epoch; Infinity if never. */
      resetsAt: number;
      /** True for the first refusal of this limit in its window: send the user one notice. */
      notify: boolean;
    };

type LimitKey = keyof PerUserLimits;

const LIMITS: ReadonlyArray<{ limit: LimitKey; metric: keyof UserCost; spec: Readonly<WindowSpec> }> = [
  { limit: "mailsPerHour", metric: "mails", spec: HOUR_WINDOW },
  { limit: "mailsPerDay", metric: "mails", spec: DAY_WINDOW },
  { limit: "bytesPerHour", metric: "bytes", spec: HOUR_WINDOW },
  { limit: "cpuMsPerHour", metric: "cpuMs", spec: HOUR_WINDOW },
];

interface UserRecord {
  /** Buckets per limit. */
  usage: Partial<Record<LimitKey, Buckets>>;
  /** Per limit: until when a notice has been given (no second one before), ms since the epoch. */
  notified: Partial<Record<LimitKey, number>>;
  /** Last mail or refusal, ms since the epoch: who goes first beyond the cap. */
  lastAt: number;
}

interface UsageFile {
  users: Record<string, UserRecord>;
}

/** The per-user usage of one bot, kept in one JSON file. */
export class UserUsage {
  private readonly serial = new Serial();
  private users: Map<string, UserRecord> | undefined;
  /** Changed since the last write (deferWrites). */
  private dirty = false;

  constructor(
    /** The usage file; null keeps the counts in memory only. */
    private readonly file: string | null,
    private readonly clock: Clock,
    private readonly maxUsers: number = USER_USAGE_MAX_USERS,
    private readonly options: { deferWrites?: boolean } = {},
  ) {}

  /** Write what changed since the last write (deferWrites); a no-op when nothing did. */
  flush(): Promise<void> {
    return this.serial.run(async () => {
      if (!this.dirty || !this.users) return;
      this.dirty = false;
      try {
        await this.write(this.users, this.clock.now());
      } catch (error) {
        this.dirty = true;
        throw error;
      }
    });
  }

  /**
   * May `user`'s next mail run? It counts as one mail plus `pending.bytes` (the incoming mail's size,
   * when known); CPU is only known afterwards, so a user at exactly the CPU cap still gets one more.
   * Every limit passes at its cap and fails one over.
   */
  check(user: string, limits: Readonly<PerUserLimits>, pending: { bytes?: number } = {}): Promise<UserVerdict> {
    return this.serial.run(async () => {
      const now = this.clock.now();
      const users = await this.load();
      const key = userKey(user);
      const record = users.get(key);
      const want: Required<UserCost> = { mails: 1, bytes: pending.bytes ?? 0, cpuMs: 0 };
      let worst: { limit: LimitKey; value: number; used: number; resetsAt: number } | undefined;
      for (const { limit, metric, spec } of LIMITS) {
        const buckets = record?.usage[limit] ?? [];
        const used = total(buckets, spec, now);
        if (used + want[metric] <= limits[limit]) continue;
        const resetsAt = fitsAt(buckets, spec, now, limits[limit], want[metric]);
        if (!worst || resetsAt > worst.resetsAt) worst = { limit, value: limits[limit], used, resetsAt };
      }
      if (!worst) return { allowed: true };
      const until = record?.notified[worst.limit];
      const notify = until === undefined || until <= now;
      if (notify) {
        const updated: UserRecord = record ?? { usage: {}, notified: {}, lastAt: now };
        // A limit the mail alone exceeds never frees; one notice per hour-or-day is then enough.
        const windowMs = LIMITS.find((l) => l.limit === worst.limit)!.spec.windowMs;
        updated.notified[worst.limit] = Number.isFinite(worst.resetsAt) ? worst.resetsAt : now + windowMs;
        updated.lastAt = now;
        users.set(key, updated);
        await this.save(users, now);
      }
      return { allowed: false, ...worst, notify };
    });
  }

  /** Add what one of `user`'s events cost (call it after the event, whether or not the bot failed). */
  record(user: string, cost: UserCost): Promise<void> {
    return this.serial.run(async () => {
      const now = this.clock.now();
      const users = await this.load();
      const key = userKey(user);
      const record: UserRecord = users.get(key) ?? { usage: {}, notified: {}, lastAt: now };
      for (const { limit, metric, spec } of LIMITS) {
        record.usage[limit] = add(record.usage[limit] ?? [], spec, now, cost[metric] ?? 0);
      }
      record.lastAt = now;
      users.set(key, record);
      await this.save(users, now);
    });
  }

  private async load(): Promise<Map<string, UserRecord>> {
    if (this.users) return this.users;
    const data = this.file === null ? { users: {} } : await readJsonFile<UsageFile>(this.file, { users: {} });
    this.users = new Map(Object.entries(data.users));
    return this.users;
  }

  // The callers changed the loaded map in place: written now, or marked for flush().
  private async save(users: Map<string, UserRecord>, now: number): Promise<void> {
    if (this.options.deferWrites) {
      this.dirty = true;
      return;
    }
    try {
      await this.write(users, now);
    } catch (error) {
      this.users = undefined; // read the file again
      throw error;
    }
  }

  // Drops expired buckets, past notices, users left with neither, then the least recently active beyond the cap.
  private async write(users: Map<string, UserRecord>, now: number): Promise<void> {
    const kept: Array<[string, UserRecord]> = [];
    for (const [key, record] of users) {
      const usage: Partial<Record<LimitKey, Buckets>> = {};
      for (const { limit, spec } of LIMITS) {
        const buckets = live(record.usage[limit] ?? [], spec, now);
        if (buckets.length > 0) usage[limit] = buckets;
      }
      const notified = Object.fromEntries(Object.entries(record.notified).filter(([, until]) => until > now));
      if (Object.keys(usage).length === 0 && Object.keys(notified).length === 0) continue;
      kept.push([key, { usage, notified, lastAt: record.lastAt }]);
    }
    kept.sort((a, b) => b[1].lastAt - a[1].lastAt);
    const file: UsageFile = { users: Object.fromEntries(kept.slice(0, this.maxUsers)) };
    if (this.file !== null) await writePrivateFile(this.file, JSON.stringify(file));
    this.users = new Map(Object.entries(file.users));
  }
}

/** The key of a user: their address, case-folded (the local part is case-insensitive on chatmail). */
function userKey(addr: string): string {
  return addr.trim().toLowerCase();
}
