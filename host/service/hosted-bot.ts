// A bot as the host runs it: its account (key, stores), its bundle and limits, the origins the
// operator approved, and its state file.
import { join } from "node:path";
import type { BotAccount } from "../wire/bot-account.js";
import type { EventLimits } from "../limits.js";
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

/** The bot's state (key → JSON text) in <account dir>/state.json, replaced atomically. */
export class BotStateFile {
  constructor(private readonly file: string) {}

  /** The file for the bot account `addr` under `dataDir`. */
  static forAccount(dataDir: string, addr: string): BotStateFile {
    return new BotStateFile(join(dataDir, "bots", addr, "state.json"));
  }

  load(): Promise<Record<string, string>> {
    return readJsonFile<Record<string, string>>(this.file, {});
  }

  save(state: Record<string, string>): Promise<void> {
    return writeJsonFile(this.file, state);
  }
}
