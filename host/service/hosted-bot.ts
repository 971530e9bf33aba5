// A bot as the host runs it: its account (key, stores), its bundle and limits, the origins the
// operator approved, and its state file.
import type { BotAccount } from "../wire/bot-account.js";
import type { EventLimits } from "../../core/limits.js";
import type { RunRequest } from "../executor/run-types.js";
import type { BotStateFile } from "./bot-state-file.js";

/** Everything needed to run one bot's events. */
export interface HostedBot {
  account: BotAccount;
  bundle: RunRequest["bundle"];
  limits: Readonly<EventLimits>;
  /** Origins the operator approved for bot.fetch. */
  origins: readonly string[];
  state: BotStateFile;
}
