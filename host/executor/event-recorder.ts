// Pure accounting of what one event produces: actions, logs, state, fetches, each under its cap.
// The bridge calls it; a refusal is a LimitExceeded that ends the event with output-limit.
import type { Action, LogLevel, OutgoingFile } from "../../std/contract.js";
import type { EventLimits } from "../limits.js";
import type { LimitHit, LogEntry } from "./run-types.js";

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

/** Size of one state entry as counted against `stateBytes`: key and JSON value in UTF-8. */
export function stateEntryBytes(key: string, json: string): number {
  return utf8Bytes(key) + utf8Bytes(json);
}

/**
 * What an action counts against `actionBytesPerEvent`: text and file bytes of a message, the
 * update's JSON, the emoji, the Message-IDs and the address an action names.
 */
export function actionPayloadBytes(action: Action, fileBytes: Uint8Array | undefined): number {
  switch (action.type) {
    case "reply":
    case "send":
      return utf8Bytes(action.text) + (fileBytes?.byteLength ?? 0);
    case "webxdc-status":
      return utf8Bytes(action.instanceId) + utf8Bytes(JSON.stringify(action.update));
    case "react":
      return utf8Bytes(action.messageId) + utf8Bytes(action.emoji);
    case "delete":
    case "resend":
      return utf8Bytes(action.messageId);
    case "add-member":
      return utf8Bytes(action.addr);
  }
}

/** Records one event's output and enforces its caps. */
export class EventRecorder {
  readonly actions: Action[] = [];
  readonly logs: LogEntry[] = [];
  private actionBytes = 0;
  private logBytes = 0;
  private readonly state: Map<string, string>;
  private stateBytes = 0;
  private stateChanged = false;
  fetchCount = 0;
  /** The first limit this event went over, if any: once set, the event is over. */
  limitHit: LimitHit | undefined;

  constructor(
    private readonly limits: Readonly<EventLimits>,
    initialState: Record<string, string>,
    private readonly elapsedMs: () => number,
  ) {
    this.state = new Map(Object.entries(initialState));
    for (const [key, json] of this.state) this.stateBytes += stateEntryBytes(key, json);
  }

  private refuse(limit: LimitHit, message: string): never {
    this.limitHit ??= limit;
    throw new LimitExceeded(limit, message);
  }

  /** Record an action; `fileBytes` are the attachment's content, if any. Returns the action's index. */
  addAction(action: Action, fileBytes: Uint8Array | undefined): number {
    if (this.actions.length + 1 > this.limits.actionsPerEvent) {
      this.refuse(
        { name: "actionsPerEvent", value: this.limits.actionsPerEvent, unit: "count" },
        `more than ${this.limits.actionsPerEvent} actions (reply/send/webxdc/delete/resend/react/addToGroup) in one event`,
      );
    }
    const bytes = actionPayloadBytes(action, fileBytes);
    if (this.actionBytes + bytes > this.limits.actionBytesPerEvent) {
      this.refuse(
        { name: "actionBytesPerEvent", value: this.limits.actionBytesPerEvent, unit: "bytes" },
        `actions in one event exceed ${this.limits.actionBytesPerEvent} bytes`,
      );
    }
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

  /** Append a log line. */
  addLog(level: LogLevel, text: string): void {
    const bytes = utf8Bytes(text);
    if (this.logBytes + bytes > this.limits.logBytesPerEvent) {
      this.refuse(
        { name: "logBytesPerEvent", value: this.limits.logBytesPerEvent, unit: "bytes" },
        `log output exceeds ${this.limits.logBytesPerEvent} bytes in one event`,
      );
    }
    this.logBytes += bytes;
    this.logs.push({ level, text, atMs: Math.round(this.elapsedMs()) });
  }

  stateGet(key: string): string | undefined {
    return this.state.get(key);
  }

  stateKeys(): string[] {
    return [...this.state.keys()];
  }

  /** Store a JSON value; the whole state must stay within `stateBytes`. */
  stateSet(key: string, json: string): void {
    const old = this.state.get(key);
    const next = this.stateBytes - (old === undefined ? 0 : stateEntryBytes(key, old)) + stateEntryBytes(key, json);
    if (next > this.limits.stateBytes) {
      this.refuse(
        { name: "stateBytes", value: this.limits.stateBytes, unit: "bytes" },
        `state would grow to ${next} bytes, over the quota of ${this.limits.stateBytes} bytes`,
      );
    }
    this.state.set(key, json);
    this.stateBytes = next;
    this.stateChanged = true;
  }

  stateDelete(key: string): void {
    const old = this.state.get(key);
    if (old === undefined) return;
    this.state.delete(key);
    this.stateBytes -= stateEntryBytes(key, old);
    this.stateChanged = true;
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
    return this.stateChanged ? Object.fromEntries(this.state) : null;
  }
}
