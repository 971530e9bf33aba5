// The durable copy of a bot's state in its own account (issue 4 item 5): folder ChatbotState holds
// ONE message whose body is the state JSON (base64) and whose X-Chatbot-State header carries a
// version counter and the body's sha256. It counts against the account's quota and moves with the
// account; <data>/bots/<addr>/state.json stays the working copy (bot-state-file.ts).
//
// Replace = append the new message, then delete the ones listed before it: a crash in between
// leaves two, and pull takes the highest version whose sha256 checks out, so at least one
// readable copy survives any crash. Versions only grow: a push takes max(last pushed, highest in
// the folder) + 1, so a copy left by a crash never outranks a later one.
//
// Pushes are off the drain loop: saving state marks the bot dirty (in memory), and a timer of its
// own (STATE_MIRROR_INTERVAL_MS) pushes each dirty bot's current state.json once, and a bot at most
// every STATE_MIRROR_MIN_GAP_MS (once more when the host stops), so a burst of events is one push. <bot dir>/state-mirror.json remembers the version and sha256 last
// pushed: on start every bot whose state.json differs from it is dirty again (a push lost to a
// crash or a stop). A failed push is logged (`state.mirror-error`) and retried with backoff.
//
// Restore: before a bot's first event in this process, when its state.json is missing (a new
// machine, a moved account), the state is pulled from the account (`state.restored`). If the
// account cannot be reached, the bot's mail waits in the spool rather than run on an empty state
// that a later push would put over the real one.
import type { RestAnswer } from "./pipeline-rest.js";
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { domainOf } from "../../core/address.js";
import { ChatbotError, isChatbotError, describeError } from "../../core/errors.js";
import type { FolderMailbox, ImapSettings } from "../deploy/imap-mailbox.js";
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";
import type { HostLog } from "./host-event.js";
import { BotStateFile } from "./bot-state-file.js";
import { hostPaths } from "./paths.js";
import { STATE_MIRROR_MIN_GAP_MS, type EventLimits } from "../../core/limits.js";
import { stateEntryBytes } from "../executor/state-bytes.js";
import { checkJsonText } from "../executor/json-check.js";
import { parseJsonObject } from "../storage/json-object.js";
import type { Clock } from "../../core/clock.js";

/** The account folder of the state copy. */
export const STATE_FOLDER = "ChatbotState";
/** The header that marks a state copy: `v=<version>; sha256=<hex of the body's JSON>`. */
export const STATE_HEADER = "X-Chatbot-State";

/** A bot's state as the host keeps it: key → JSON text. */
export type BotState = Record<string, string>;

/** <bot dir>/state-mirror.json: what was last pushed to (or pulled from) the account. */
export interface MirrorRecord {
  version: number;
  sha256: string;
}

/** The JSON text of a state as it is mirrored, and its sha256. */
function stateDigest(state: BotState): { json: string; sha256: string } {
  const json = JSON.stringify(state);
  return { json, sha256: createHash("sha256").update(json, "utf8").digest("hex") };
}

/** The version and sha256 of a marker header value; undefined when it is not one. */
export function parseMarker(marker: string | undefined): { version: number; sha256: string } | undefined {
  const match = /^v=(\d{1,15});\s*sha256=([0-9a-f]{64})\b/i.exec(marker?.trim() ?? "");
  return match ? { version: Number(match[1]), sha256: match[2]!.toLowerCase() } : undefined;
}

/** The state copy as a message to append to the bot's own account. */
export function composeStateMessage(addr: string, state: BotState, version: number, now: number): Uint8Array {
  const { json, sha256 } = stateDigest(state);
  const domain = addr.includes("@") ? domainOf(addr) : "localhost";
  const body = Buffer.from(json, "utf8")
    .toString("base64")
    .replace(/.{1,76}/g, "$&\r\n");
  const head = [
    `From: <${addr}>`,
    `To: <${addr}>`,
    "Subject: chatbot state",
    `Date: ${new Date(now).toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: <state-${version}-${randomBytes(8).toString("hex")}@${domain}>`,
    `${STATE_HEADER}: v=${version}; sha256=${sha256}`,
    "MIME-Version: 1.0",
    "Content-Type: application/json; charset=utf-8",
    "Content-Transfer-Encoding: base64",
  ].join("\r\n");
  return Buffer.from(`${head}\r\n\r\n${body}`, "utf8");
}

/**
 * Largest state copy message the host reads, bytes, for a state of at most `stateBytes`: the JSON
 * of the state map (each key and value JSON-quoted: at most 6 bytes per input byte for \u escapes,
 * plus 4 per entry — bounded here by 6× + 64 KiB), base64 (4/3, 78/76 with line ends) and 4 KiB of
 * headers. The account belongs to the bot's author, who can put anything in ChatbotState: a copy
 * over this is refused before it is downloaded or parsed.
 */
function stateCopyMaxBytes(stateBytes: number): number {
  const json = 6 * stateBytes + 64 * 1024;
  return Math.ceil((json * 4) / 3 / 76) * 78 + 4096;
}

/**
 * The state in a copy: its marker's sha256 must match the body, it must be a map of keys to JSON
 * text, and it must fit `maxStateBytes` as the sandbox counts it (stateEntryBytes); E_STATE_MIRROR
 * otherwise. The raw message is checked against stateCopyMaxBytes before anything is decoded.
 */
export function parseStateMessage(raw: Uint8Array, maxStateBytes: number): { version: number; state: BotState } {
  const maxRaw = stateCopyMaxBytes(maxStateBytes);
  if (raw.byteLength > maxRaw)
    throw new ChatbotError(
      "E_STATE_MIRROR",
      `state copy of ${raw.byteLength} bytes is larger than any state of at most ${maxStateBytes} bytes can be (${maxRaw})`,
    );
  const text = Buffer.from(raw).toString("latin1");
  const split = text.search(/\r?\n\r?\n/);
  if (split < 0) throw new ChatbotError("E_STATE_MIRROR", "state copy without a body");
  const head = text.slice(0, split).replace(/\r?\n[ \t]+/g, " ");
  const marker = parseMarker(new RegExp(`^${STATE_HEADER}:(.*)$`, "im").exec(head)?.[1]);
  if (!marker) throw new ChatbotError("E_STATE_MIRROR", `state copy without a valid ${STATE_HEADER} header`);
  const json = Buffer.from(text.slice(split).replace(/\s+/g, ""), "base64").toString("utf8");
  if (createHash("sha256").update(json, "utf8").digest("hex") !== marker.sha256)
    throw new ChatbotError("E_STATE_MIRROR", `state copy v${marker.version} does not match its sha256`);
  const state = parseJsonObject(json);
  if (!state || !Object.values(state).every((v) => typeof v === "string")) {
    throw new ChatbotError("E_STATE_MIRROR", `state copy v${marker.version} is not a state (key → JSON text)`);
  }
  let bytes = 0;
  for (const [key, value] of Object.entries(state as BotState)) {
    bytes += stateEntryBytes(key, value);
    // The rule bot.state.set applies (host-bridge.ts): JSON text, any depth.
    if (checkJsonText(value, Infinity) !== "ok")
      throw new ChatbotError("E_STATE_MIRROR", `state copy v${marker.version}: the value of key ${JSON.stringify(key.slice(0, 40))} is not JSON text`);
  }
  if (bytes > maxStateBytes)
    throw new ChatbotError("E_STATE_MIRROR", `state copy v${marker.version} holds ${bytes} bytes of state, over the ${maxStateBytes} bytes a bot may have`);
  return { version: marker.version, state: state as BotState };
}

export interface StateMirrorDeps {
  dataDir: string;
  /** `ceilings.event.stateBytes` bounds what a restore may bring in (the most any bot may hold). */
  config: { imap: Readonly<ImapSettings>; ceilings: { event: Pick<EventLimits, "stateBytes"> } };
  clock: Clock;
  log: HostLog;
  /** Log in as a bot account on its ChatbotState folder (imap-mailbox.ts openFolderMailbox; tests pass a fake). */
  openMailbox: (settings: Readonly<ImapSettings>, user: string, password: string) => Promise<FolderMailbox>;
}

/** Delay before retry `failures` (1-based) of a push or pull, ms: 5 s doubling up to 10 min. */
function mirrorBackoffMs(failures: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, failures - 1), 600_000);
}

/** The bots' state copies in their accounts. */
export class StateMirror {
  private readonly dirty = new Set<string>();
  /** Bots whose state is known to be local (present, restored, or nothing to restore) in this process. */
  private readonly restored = new Set<string>();
  private readonly failures = new Map<string, { count: number; retryAt: number }>();
  private readonly pushedAt = new Map<string, number>();
  private scanned = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: StateMirrorDeps) {}

  private async mailbox(addr: string): Promise<FolderMailbox> {
    const password = (await readFile(hostPaths(this.deps.dataDir).bot(addr).password, "utf8")).trim();
    return this.deps.openMailbox(this.deps.config.imap, addr, password);
  }

  private recordFile(addr: string): string {
    return join(hostPaths(this.deps.dataDir).bot(addr).dir, "state-mirror.json");
  }

  /** Replace the account's copy with `state`; resolves with the version it got (≥ `version`). */
  async push(addr: string, state: BotState, version: number): Promise<number> {
    const mailbox = await this.mailbox(addr);
    try {
      const before = await mailbox.list();
      const highest = Math.max(0, ...before.map((m) => parseMarker(m.marker)?.version ?? 0));
      const next = Math.max(version, highest + 1);
      await mailbox.append(composeStateMessage(addr, state, next, this.deps.clock.now()));
      // Only now the older copies go: a crash before this line leaves them and the new one.
      await mailbox.remove(before.map((m) => m.uid));
      return next;
    } finally {
      await mailbox.close();
    }
  }

  /** The newest readable copy in the account, or undefined when there is none. */
  async pull(addr: string): Promise<{ version: number; state: BotState } | undefined> {
    const mailbox = await this.mailbox(addr);
    try {
      const copies = (await mailbox.list())
        .map((m) => ({ uid: m.uid, size: m.size, version: parseMarker(m.marker)?.version }))
        .filter((m): m is { uid: number; size: number | undefined; version: number } => m.version !== undefined)
        .sort((a, b) => b.version - a.version || b.uid - a.uid);
      const maxStateBytes = this.deps.config.ceilings.event.stateBytes;
      for (const copy of copies) {
        try {
          // Listed sizes are the server's word; the downloaded bytes are checked again in parseStateMessage.
          if (copy.size !== undefined && copy.size > stateCopyMaxBytes(maxStateBytes)) {
            throw new ChatbotError(
              "E_STATE_MIRROR",
              `state copy v${copy.version} of ${copy.size} bytes is larger than any state of at most ${maxStateBytes} bytes can be; not downloaded`,
            );
          }
          return parseStateMessage(await mailbox.download(copy.uid), maxStateBytes);
        } catch (error) {
          if (!isChatbotError(error, "E_STATE_MIRROR")) throw error;
          this.deps.log({ event: "state.mirror-error", bot: addr, op: "pull", uid: copy.uid, error: describeError(error) });
        }
      }
      return undefined;
    } finally {
      await mailbox.close();
    }
  }

  /** The bot's state was saved: push it with the next flush. */
  markDirty(addr: string): void {
    this.dirty.add(addr);
  }

  /** True while a change of `addr` waits to be pushed. */
  isDirty(addr: string): boolean {
    return this.dirty.has(addr);
  }

  /**
   * Make sure the bot's state is local before its first event: when state.json is missing, pull it
   * from the account. Resolves with undefined when the event may run, or the time to try again
   * (ms since the epoch) when the account could not be read.
   */
  async ensureRestored(addr: string): Promise<number | undefined> {
    if (this.restored.has(addr)) return undefined;
    const file = join(hostPaths(this.deps.dataDir).bot(addr).dir, "state.json");
    if (
      await stat(file).then(
        () => true,
        () => false,
      )
    ) {
      this.restored.add(addr);
      return undefined;
    }
    const failed = this.failures.get(addr);
    if (failed && failed.retryAt > this.deps.clock.now()) return failed.retryAt;
    try {
      const copy = await this.pull(addr);
      if (copy) {
        await BotStateFile.forAccount(this.deps.dataDir, addr).save(copy.state);
        await writeJsonFile(this.recordFile(addr), { version: copy.version, sha256: stateDigest(copy.state).sha256 } satisfies MirrorRecord);
        this.deps.log({ event: "state.restored", bot: addr, version: copy.version, keys: Object.keys(copy.state).length });
      }
      this.failures.delete(addr);
      this.restored.add(addr);
      return undefined;
    } catch (error) {
      return this.failed(addr, "pull", error);
    }
  }

  private failed(addr: string, op: "push" | "pull", error: unknown): number {
    const count = (this.failures.get(addr)?.count ?? 0) + 1;
    const retryAt = this.deps.clock.now() + mirrorBackoffMs(count);
    this.failures.set(addr, { count, retryAt });
    this.deps.log({ event: "state.mirror-error", bot: addr, op, attempts: count, retryAt, error: describeError(error) });
    return retryAt;
  }

  /** On the first flush: every bot whose state.json is not what was last pushed is dirty. */
  private async scan(): Promise<void> {
    if (this.scanned) return;
    this.scanned = true;
    for (const addr of await readdir(hostPaths(this.deps.dataDir).bots).catch(() => [] as string[])) {
      if (
        !(await stat(hostPaths(this.deps.dataDir).bot(addr).config).then(
          () => true,
          () => false,
        ))
      )
        continue; // not an installed bot
      const state = await BotStateFile.forAccount(this.deps.dataDir, addr)
        .read()
        .catch(() => undefined);
      if (!state) continue;
      const record = await readJsonFile<MirrorRecord | undefined>(this.recordFile(addr), undefined).catch(() => undefined);
      if (record?.sha256 !== stateDigest(state).sha256) this.dirty.add(addr);
    }
  }

  /**
   * Push every dirty bot's current state once: those waiting for a retry when it is due, those
   * pushed less than STATE_MIRROR_MIN_GAP_MS ago only when `final` (the host is stopping).
   */
  async flush(final = false): Promise<void> {
    await this.scan();
    for (const addr of [...this.dirty].sort()) {
      const now = this.deps.clock.now();
      const failed = this.failures.get(addr);
      if (failed && failed.retryAt > now) continue;
      const last = this.pushedAt.get(addr);
      if (!final && last !== undefined && now - last < STATE_MIRROR_MIN_GAP_MS) continue;
      // Cleared before reading: a save while the push runs marks the bot dirty again.
      this.dirty.delete(addr);
      try {
        const state = await BotStateFile.forAccount(this.deps.dataDir, addr).load();
        const { json, sha256 } = stateDigest(state);
        const record = await readJsonFile<MirrorRecord | undefined>(this.recordFile(addr), undefined).catch(() => undefined);
        if (record?.sha256 === sha256) continue;
        const version = await this.push(addr, state, (record?.version ?? 0) + 1);
        await writeJsonFile(this.recordFile(addr), { version, sha256 } satisfies MirrorRecord);
        this.pushedAt.set(addr, this.deps.clock.now());
        this.failures.delete(addr);
        this.deps.log({ event: "state.mirrored", bot: addr, version, bytes: Buffer.byteLength(json, "utf8") });
      } catch (error) {
        this.dirty.add(addr);
        this.failed(addr, "push", error);
      }
    }
  }

  /** For the pipeline's rest (pipeline-rest.ts): busy until the first scan ran and while a push runs or waits (a retry too). */
  restAnswer(): RestAnswer {
    return !this.scanned || this.running !== undefined || this.dirty.size > 0 ? "busy" : Number.POSITIVE_INFINITY;
  }

  /** Flush every `everyMs` (never two at once). */
  start(everyMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flushOnce(), everyMs);
  }

  /** One flush, or the one already running; failures are logged per bot. */
  flushOnce(final = false): Promise<void> {
    this.running ??= this.flush(final)
      .catch((error) => this.deps.log({ event: "service.error", message: describeError(error) }))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** Stop the timer, then push what is still dirty once more. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.flushOnce(true);
  }
}
