// A bot's state (key → JSON text) on disk: <account dir>/state.json, a snapshot, and
// state.json.log, what each event changed since it (storage/json-log.ts), so saving an event's new
// state costs what the event changed, not the whole state (up to stateBytes, 1 MiB): one appended,
// fdatasynced line instead of the whole file written, synced and renamed. A snapshot is written at
// the first save, after JSON_LOG_COMPACT_LINES lines or STATE_LOG_COMPACT_CHARS characters of them, and when
// a save comes without its changes (a restore from the account, a resumed plan); it empties the log.
//
// What this object read or wrote is kept in memory, so an event does not read the files again:
// only one object per bot may write them (the service's bot) while others read (the state mirror,
// which restores missing files before the bot's first event, i.e. before this object first reads).
//
// Each state it hands out has a token (RunRequest.stateToken) that names exactly that state: this
// object's random id and a count of its saves, or the token the runner kept the state under when
// an event's new state is saved with it (RunResult.stateToken) — so a runner holding the state can
// be sent the event without it (executor/state-cache.ts). A save, even one that fails, counts.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { STATE_LOG_COMPACT_CHARS } from "../../core/limits.js";
import { applyEachStateChange, type StateChanges } from "../executor/state-snapshot.js";
import { JsonLog } from "../storage/json-log.js";

type State = Record<string, string>;

export class BotStateFile {
  private readonly log: JsonLog<State, StateChanges>;
  private cached: State | undefined;
  private snapshotExists = false;
  /** Random per object: another object's tokens (a reload of the bot) never match this one's. */
  private readonly id = randomBytes(9).toString("base64url");
  private saves = 0;
  /** The token the last save named its state with, while that state is the cached one. */
  private savedAs: string | undefined;

  constructor(file: string) {
    this.log = new JsonLog(file, { compactChars: STATE_LOG_COMPACT_CHARS });
  }

  /** The file for the bot account `addr` under `dataDir`. */
  static forAccount(dataDir: string, addr: string): BotStateFile {
    return new BotStateFile(join(dataDir, "bots", addr, "state.json"));
  }

  /** The state on disk, or undefined when the bot has none yet (no snapshot, no log). */
  async read(): Promise<State | undefined> {
    const { snapshot, lines } = await this.log.read();
    this.snapshotExists = snapshot !== undefined;
    if (snapshot === undefined && lines.length === 0) return undefined;
    // In order: a line the snapshot holds already (a crash between its rename and the log's
    // truncation) is applied again to the same result. A line of another shape is not the host's.
    const changes = lines.filter((line) => Array.isArray(line?.deleted) && typeof line.set === "object" && line.set !== null);
    return applyEachStateChange(snapshot ?? {}, changes);
  }

  /** The state (a copy: the caller may change it). */
  async load(): Promise<State> {
    this.cached ??= (await this.read()) ?? {};
    return { ...this.cached };
  }

  /** The state (a copy) and its token. */
  async loadWithToken(): Promise<{ state: State; token: string }> {
    const saves = this.saves;
    const state = await this.load();
    // A save that began while the file was read: that read may hold either state, so no token names it.
    const token = saves !== this.saves ? `${this.id}.${saves}-${randomBytes(6).toString("base64url")}` : (this.savedAs ?? `${this.id}.${saves}`);
    return { state, token };
  }

  /**
   * Replace the state; durable when it resolves with the characters written. `changes`, what the
   * event changed in the state this object last handed out, is appended to the log instead of the
   * whole state (when the log is not due for a snapshot); `token`, from the executor, names exactly
   * this state (RunResult.stateToken), and the next loads hand it out while no other save came.
   */
  async save(state: State, token?: string, changes?: StateChanges): Promise<number> {
    this.saves += 1;
    const base = this.cached;
    this.cached = undefined;
    this.savedAs = undefined;
    const written = changes && base && !this.log.wantsSnapshot(this.snapshotExists) ? await this.log.append(changes) : await this.log.snapshot(state);
    this.snapshotExists = true;
    this.cached = { ...state };
    this.savedAs = token;
    return written;
  }
}
