// The CPU budget of one bot over all its users (DESIGN §3.2: ~1% of a core per hour, 0.1% per day),
// so that a relay operator takes on no new cost however popular a bot gets.
//
// Over budget nothing is dropped: the service leaves the bot's events in the spool until
// `resumesAt` and runs them then. The check admits an event while the spent time is at most the
// budget, so a bot overshoots by at most one event's cpuMsPerEvent (its CPU is known only after).
// Windows are sliding, as buckets (host/policy/rolling-window.ts): one minute over the hour,
// 15 minutes over the day. File: <bot dir>/cpu-budget.json, at most 61 + 97 buckets. The budget
// itself is the operator's: host.json `ceilings.bot` (defaults DEFAULT_BOT_LIMITS).
// Read once and kept in memory (this object must be the only writer of the file); with
// `deferWrites` a change is written by `flush()`, as in user-limits.ts.
import { DEFAULT_BOT_LIMITS, type BotLimits } from "../../core/limits.js";
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";
import type { Clock } from "../../core/clock.js";
import { DAY_WINDOW, HOUR_WINDOW, add, fitsAt, type Buckets, type WindowSpec } from "./rolling-window.js";
import { Serial } from "./serial.js";

/** The answer of CpuBudget.check. */
export type CpuVerdict =
  | { allowed: true }
  | {
      allowed: false;
      /** When enough spent time has left the window for the next event, ms since the epoch. */
      resumesAt: number;
      /** The budget that holds the bot back longest: "botCpuMsPerHour" or "botCpuMsPerDay". */
      limit: keyof BotLimits;
    };

const WINDOWS: ReadonlyArray<{ limit: keyof BotLimits; spec: Readonly<WindowSpec> }> = [
  { limit: "botCpuMsPerHour", spec: HOUR_WINDOW },
  { limit: "botCpuMsPerDay", spec: DAY_WINDOW },
];

type CpuFile = Partial<Record<keyof BotLimits, Buckets>>;

/** The CPU time one bot spent recently, against its hourly and daily budgets. */
export class CpuBudget {
  private readonly serial = new Serial();
  private spent: CpuFile | undefined;
  /** Changed since the last write (deferWrites). */
  private dirty = false;

  constructor(
    private readonly file: string,
    private readonly clock: Clock,
    private readonly limits: Readonly<BotLimits> = DEFAULT_BOT_LIMITS,
    private readonly options: { deferWrites?: boolean } = {},
  ) {}

  private async load(): Promise<CpuFile> {
    this.spent ??= await readJsonFile<CpuFile>(this.file, {});
    return this.spent;
  }

  /** Write what changed since the last write (deferWrites); a no-op when nothing did. */
  flush(): Promise<void> {
    return this.serial.run(async () => {
      if (!this.dirty || !this.spent) return;
      this.dirty = false;
      try {
        await writeJsonFile(this.file, this.spent);
      } catch (error) {
        this.dirty = true;
        throw error;
      }
    });
  }

  /** May the bot run its next event now? Passes with exactly the budget spent, fails one ms over. */
  check(): Promise<CpuVerdict> {
    return this.serial.run(async () => {
      const now = this.clock.now();
      const spent = await this.load();
      let worst: { resumesAt: number; limit: keyof BotLimits } | undefined;
      for (const { limit, spec } of WINDOWS) {
        const resumesAt = fitsAt(spent[limit] ?? [], spec, now, this.limits[limit], 0);
        if (resumesAt > now && (!worst || resumesAt > worst.resumesAt)) worst = { resumesAt, limit };
      }
      return worst ? { allowed: false, ...worst } : { allowed: true };
    });
  }

  /** Add the guest CPU time of one finished event, ms. */
  record(cpuMs: number): Promise<void> {
    return this.serial.run(async () => {
      const now = this.clock.now();
      const spent = await this.load();
      const next: CpuFile = {};
      for (const { limit, spec } of WINDOWS) next[limit] = add(spent[limit] ?? [], spec, now, cpuMs);
      if (this.options.deferWrites) {
        this.spent = next;
        this.dirty = true;
        return;
      }
      await writeJsonFile(this.file, next);
      this.spent = next;
    });
  }
}
