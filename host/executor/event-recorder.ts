// Pure accounting of what one event produces: actions, logs, state, fetches, each under its cap.
// The bridge calls it; a refusal is a LimitExceeded that ends the event with output-limit.
import type { Action, LogLevel, OutgoingFile } from "../../std/contract.js";
import { LOG_ENTRY_OVERHEAD_BYTES, type EventLimits } from "../../core/limits.js";
import type { LimitHit, LogEntry } from "./run-types.js";
import { stateEntryBytes } from "./state-bytes.js";
import { StateSnapshot, type StateChanges } from "./state-snapshot.js";

/** Thrown when an event goes over one of its output caps. */
export class LimitExceeded extends Error {
  readonly limit: LimitHit;
  constructor(limit: LimitHit, message: string) {
    super(message);
    this.name = "LimitExceeded";
    this.limit = limit;
  }
}

const utf8Bytes = (text: string) => Buffer.byteLength(text, "utf8");

/**
 * What an action counts against `actionBytesPerEvent`, UTF-8: every string it carries (the chat id,
 * the Message-IDs it names, text, file name and type, emoji, address), the update's JSON, and the
 * file's bytes. Only the action's type, a fixed word, is free.
 */
export function actionPayloadBytes(action: Action, fileBytes: Uint8Array | undefined): number {
  const chat = utf8Bytes(action.chatId);
  switch (action.type) {
    case "reply":
    case "send": {
      const file = action.file ? utf8Bytes(action.file.name) + utf8Bytes(action.file.type) + (fileBytes?.byteLength ?? 0) : 0;
      return chat + (action.type === "reply" ? utf8Bytes(action.inReplyTo) : 0) + utf8Bytes(action.text) + file;
    }
    case "webxdc-status":
      return chat + utf8Bytes(action.instanceId) + utf8Bytes(JSON.stringify(action.update));
    case "react":
      return chat + utf8Bytes(action.messageId) + utf8Bytes(action.emoji);
    case "delete":
    case "resend":
      return chat + utf8Bytes(action.messageId);
    case "add-member":
      return chat + utf8Bytes(action.addr);
  }
}

/** What one log entry counts against `logBytesPerEvent`: its text in UTF-8 plus LOG_ENTRY_OVERHEAD_BYTES. */
export function logEntryBytes(text: string): number {
  return utf8Bytes(text) + LOG_ENTRY_OVERHEAD_BYTES;
}

/** Records one event's output and enforces its caps. */
export class EventRecorder {
  readonly actions: Action[] = [];
  readonly logs: LogEntry[] = [];
  private actionBytes = 0;
  private logBytes = 0;
  /** The state the event started from; never changed (a worker keeps it for the bot's next events). */
  private readonly initialState: ReadonlyMap<string, string>;
  /** The event's own copy, made at its first write. */
  private ownState: Map<string, string> | undefined;
  /** Keys the event set, and keys it deleted (at any point: one deleted and set again is in both). */
  private readonly setKeys = new Set<string>();
  private readonly deletedKeys = new Set<string>();
  private stateBytes: number;
  fetchCount = 0;
  /** The first limit this event went over, if any: once set, the event is over. */
  limitHit: LimitHit | undefined;

  constructor(
    /** The event's limits; the bridge reads its caps for one call from them. */
    readonly limits: Readonly<EventLimits>,
    initialState: Record<string, string> | StateSnapshot,
    private readonly elapsedMs: () => number,
  ) {
    const snapshot = initialState instanceof StateSnapshot ? initialState : StateSnapshot.of(initialState);
    this.initialState = snapshot.entries;
    this.stateBytes = snapshot.bytes;
  }

  /** The state as the event left it so far. */
  private get state(): ReadonlyMap<string, string> {
    return this.ownState ?? this.initialState;
  }

  /** The event's own copy of the state, to change. */
  private writableState(): Map<string, string> {
    this.ownState ??= new Map(this.initialState);
    return this.ownState;
  }

  private refuse(limit: LimitHit, message: string): never {
    this.limitHit ??= limit;
    throw new LimitExceeded(limit, message);
  }

  /** Refuse (actionsPerEvent) when no further action fits; the bridge asks before it reads one. */
  checkActionRoom(): void {
    if (this.actions.length + 1 > this.limits.actionsPerEvent) {
      this.refuse(
        { name: "actionsPerEvent", value: this.limits.actionsPerEvent, unit: "count" },
        `more than ${this.limits.actionsPerEvent} actions (reply/send/webxdc/delete/resend/react/addToGroup) in one event`,
      );
    }
  }

  /** Bytes left of `actionBytesPerEvent`. */
  actionBytesLeft(): number {
    return this.limits.actionBytesPerEvent - this.actionBytes;
  }

  /** Refuse with actionBytesPerEvent: this event's actions would exceed it. */
  refuseActionBytes(): never {
    this.refuse(
      { name: "actionBytesPerEvent", value: this.limits.actionBytesPerEvent, unit: "bytes" },
      `actions in one event exceed ${this.limits.actionBytesPerEvent} bytes`,
    );
  }

  /** Refuse (actionBytesPerEvent) an action that counts at least `bytes` when they are more than what is left. */
  checkActionBytes(bytes: number): void {
    if (bytes > this.actionBytesLeft()) this.refuseActionBytes();
  }

  /** Record an action; `fileBytes` are the attachment's content, if any. Returns the action's index. */
  addAction(action: Action, fileBytes: Uint8Array | undefined): number {
    this.checkActionRoom();
    const bytes = actionPayloadBytes(action, fileBytes);
    this.checkActionBytes(bytes);
    this.actionBytes += bytes;
    if (action.type !== "reply" && action.type !== "send") {
      this.actions.push(action);
    } else if (fileBytes && action.file) {
      const file: OutgoingFile = { ...action.file, size: fileBytes.byteLength, dataBase64: Buffer.from(fileBytes).toString("base64") };
      this.actions.push({ ...action, file });
    } else {
      const { file: _ignored, ...rest } = action;
      this.actions.push(rest);
    }
    return this.actions.length - 1;
  }

  /** Bytes of log text the next entry may have (what is left of `logBytesPerEvent` minus its overhead). */
  logTextBytesLeft(): number {
    return this.limits.logBytesPerEvent - this.logBytes - LOG_ENTRY_OVERHEAD_BYTES;
  }

  /** Refuse with logBytesPerEvent: this event's log would exceed it. */
  refuseLogBytes(): never {
    this.refuse(
      { name: "logBytesPerEvent", value: this.limits.logBytesPerEvent, unit: "bytes" },
      `log output exceeds ${this.limits.logBytesPerEvent} bytes in one event (each entry counts ${LOG_ENTRY_OVERHEAD_BYTES} bytes besides its text)`,
    );
  }

  /** Refuse (logBytesPerEvent) a log entry of at least `textBytes` bytes of text that does not fit. */
  checkLogBytes(textBytes: number): void {
    if (textBytes > this.logTextBytesLeft()) this.refuseLogBytes();
  }

  /** Append a log line. */
  addLog(level: LogLevel, text: string): void {
    const bytes = utf8Bytes(text);
    this.checkLogBytes(bytes);
    this.logBytes += bytes + LOG_ENTRY_OVERHEAD_BYTES;
    this.logs.push({ level, text, atMs: Math.round(this.elapsedMs()) });
  }

  stateGet(key: string): string | undefined {
    return this.state.get(key);
  }

  stateKeys(): string[] {
    return [...this.state.keys()];
  }

  /**
   * Refuse (stateBytes) storing a value of at least `valueBytes` under `key` when the state would
   * then exceed its quota; the bridge asks with the value's length before it reads the value.
   * Returns the state's size with that value, bytes.
   */
  checkStateRoom(key: string, valueBytes: number): number {
    const old = this.state.get(key);
    const next = this.stateBytes - (old === undefined ? 0 : stateEntryBytes(key, old)) + utf8Bytes(key) + valueBytes;
    if (next > this.limits.stateBytes) this.refuseStateBytes(next);
    return next;
  }

  /** Refuse with stateBytes: the state would grow to at least `next` bytes. */
  refuseStateBytes(next: number): never {
    this.refuse(
      { name: "stateBytes", value: this.limits.stateBytes, unit: "bytes" },
      `state would grow to ${next} bytes or more, over the quota of ${this.limits.stateBytes} bytes`,
    );
  }

  /** Store a JSON value; the whole state must stay within `stateBytes`. */
  stateSet(key: string, json: string): void {
    const next = this.checkStateRoom(key, utf8Bytes(json));
    this.writableState().set(key, json);
    this.setKeys.add(key);
    this.stateBytes = next;
  }

  stateDelete(key: string): void {
    const old = this.state.get(key);
    if (old === undefined) return;
    this.writableState().delete(key);
    this.setKeys.delete(key);
    this.deletedKeys.add(key);
    this.stateBytes -= stateEntryBytes(key, old);
  }

  /** Count a fetch against `fetchesPerEvent`. */
  startFetch(): void {
    if (this.fetchCount + 1 > this.limits.fetchesPerEvent) {
      this.refuse(
        { name: "fetchesPerEvent", value: this.limits.fetchesPerEvent, unit: "count" },
        `more than ${this.limits.fetchesPerEvent} fetches in one event`,
      );
    }
    this.fetchCount += 1;
  }

  /** The new state, or null when the event did not change it. */
  changedState(): Record<string, string> | null {
    return this.ownState ? Object.fromEntries(this.ownState) : null;
  }

  /**
   * What the event changed, or null when nothing: applied to the state it started from (deletions
   * first, then the values set, in this order: applyStateChanges) it gives changedState(), keys in
   * the same order.
   */
  stateChanges(): StateChanges | null {
    if (!this.ownState) return null;
    // No prototype: a key such as "__proto__" is an own entry like any other.
    const set = Object.create(null) as Record<string, string>;
    for (const [key, json] of this.ownState) if (this.setKeys.has(key)) set[key] = json;
    return { deleted: [...this.deletedKeys], set };
  }
}
