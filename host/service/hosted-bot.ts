// A bot as the host runs it: its account (key, stores), its bundle and limits, the origins the
// operator approved, and its state file.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { BotAccount } from "../wire/bot-account.js";
import type { EventLimits } from "../../core/limits.js";
import type { RunRequest } from "../executor/run-types.js";
import { readJsonFile, writePrivateFile } from "../storage/json-file.js";

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
 *
 * Each state it hands out has a token (RunRequest.stateToken) that names exactly that state: this
 * object's random id and a count of its saves, or the token the runner kept the state under when
 * an event's new state is saved with it (RunResult.stateToken) — so a runner holding the state can
 * be sent the event without it (executor/state-cache.ts). A save, even one that fails, counts.
 */
export class BotStateFile {
  private cached: Record<string, string> | undefined;
  /** Random per object: another object's tokens (a reload of the bot) never match this one's. */
  private readonly id = randomBytes(9).toString("base64url");
  private saves = 0;
  /** The token the last save named its state with, while that state is the cached one. */
  private savedAs: string | undefined;

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

  /** The state (a copy) and its token. */
  async loadWithToken(): Promise<{ state: Record<string, string>; token: string }> {
    const saves = this.saves;
    const state = await this.load();
    // A save that began while the file was read: that read may hold either state, so no token names it.
    const token = saves !== this.saves ? `${this.id}.${saves}-${randomBytes(6).toString("base64url")}` : (this.savedAs ?? `${this.id}.${saves}`);
    return { state, token };
  }

  /**
   * Replace the state; durable when it resolves with the bytes of JSON written. `token`, from the
   * executor, names exactly this state (RunResult.stateToken); the next loads hand it out while no
   * other save came.
   */
  async save(state: Record<string, string>, token?: string): Promise<number> {
    this.saves += 1;
    this.cached = undefined;
    this.savedAs = undefined;
    // Compact: one stringify, whose size is also what the state-IO limit counts (commit-plan.ts).
    const json = JSON.stringify(state);
    await writePrivateFile(this.file, json);
    this.cached = { ...state };
    this.savedAs = token;
    return Buffer.byteLength(json, "utf8");
  }
}
