// A bot as the host runs it: its account (key, stores), its bundle and limits, the origins the
// operator approved, and its state file.
import { join } from "node:path";
import type { BotAccount } from "../wire/bot-account.js";
import type { EventLimits } from "../../core/limits.js";
import type { RunRequest } from "../executor/run-types.js";
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";

/** Everything needed to run one bot's events. */
export interface HostedBot {
  account: BotAccount;
  bundle: RunRequest["bundle"];
  limits: Readonly<EventLimits>;
  /** Origins the operator approved for bot.fetch. */
  origins: readonly string[];
  state: BotStateFile;
}

/**
 * The bot's state (key → JSON text) in <account dir>/state.json, replaced atomically. What this
 * object read or wrote is kept in memory, so an event does not read the file again: only one
 * object per file may write it while others read (the service's bot; state-mirror.ts restores a
 * missing file before the bot's first event, i.e. before this object first reads it).
 */
export class BotStateFile {
  private cached: Record<string, string> | undefined;

  constructor(private readonly file: string) {}

  /** The file for the bot account `addr` under `dataDir`. */
  static forAccount(dataDir: string, addr: string): BotStateFile {
    return new BotStateFile(join(dataDir, "bots", addr, "state.json"));
  }

  /** The state (a copy: the caller may change it). */
  async load(): Promise<Record<string, string>> {
    this.cached ??= await readJsonFile<Record<string, string>>(this.file, {});
    return { ...this.cached };
  }

  /** Replace the state; durable when it resolves. */
  async save(state: Record<string, string>): Promise<void> {
    this.cached = undefined;
    await writeJsonFile(this.file, state);
    this.cached = { ...state };
  }
}
