// What a runner sends is checked again on the host (issue 12): the walls assume a bot may break out
// of QuickJS into its runner process, and then everything the runner says over IPC is the
// attacker's. A result must have the shape of a RunResult and stay within the event's own caps —
// each action as parseAction would accept it, the actions' payload, the log and the state within
// their byte caps (counted as the sandbox counts them: event-recorder.ts) — and a fetch request
// must be plain data; the fetch policy itself is applied by the host anyway (event-fetches.ts).
// Anything else is refused whole, with why; the executor then kills that runner.
import type { Action, OutgoingFile } from "../../std/contract.js";
import {
  FETCH_REQUEST_JSON_MAX_CHARS,
  GUEST_ERROR_MESSAGE_MAX_CHARS,
  GUEST_ERROR_NAME_MAX_CHARS,
  GUEST_ERROR_STACK_MAX_CHARS,
  type EventLimits,
} from "../../core/limits.js";
import { actionPayloadBytes, logEntryBytes } from "./event-recorder.js";
import { stateEntryBytes } from "./state-bytes.js";
import { applyStateChanges, type StateChanges } from "./state-snapshot.js";
import { parseAction } from "./parse-action.js";
import type { FetchCancelMessage, FetchStartMessage } from "./runner-protocol.js";
import type { LogEntry, RunRequest, RunResult, RunStatus } from "./run-types.js";

const STATUSES: readonly RunStatus[] = ["ok", "bot-error", "cpu-limit", "wall-limit", "memory-limit", "output-limit"];
const LOG_LEVELS = ["debug", "info", "warn", "error"];
const LIMIT_UNITS = ["ms", "bytes", "count"];
/**
 * Room for what is added to a guest's error text: its name before the message, "… [N characters]"
 * after a cut one, the runner's "; its sandbox thread was stopped …".
 */
const ERROR_MESSAGE_MAX_CHARS = GUEST_ERROR_NAME_MAX_CHARS + GUEST_ERROR_MESSAGE_MAX_CHARS + 1000;
const ERROR_STACK_MAX_CHARS = GUEST_ERROR_STACK_MAX_CHARS + 100;
const ERROR_CODE_MAX_CHARS = 100;
/** A fetch request's URL, method and headers together: the bridge read them from JSON of at most this. */
const FETCH_REQUEST_MAX_CHARS = FETCH_REQUEST_JSON_MAX_CHARS;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A message a runner sent that the host does not take. */
export class RunnerMessageError extends Error {}

function fail(why: string): never {
  throw new RunnerMessageError(why);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value >= 0;
const isString = (value: unknown, maxChars: number): value is string => typeof value === "string" && value.length <= maxChars;

/** Bytes a base64 text decodes to, or null when it is not base64. */
function base64Bytes(text: string): number | null {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null;
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

/** One action as parseAction accepts it (its file's bytes as base64 beside name and type), and its payload bytes. */
function checkAction(raw: unknown, index: number): { action: Action; bytes: number } {
  if (!isRecord(raw)) fail(`action ${index} is not an object`);
  let fileBytes: number | undefined;
  let file: OutgoingFile | undefined;
  let json = raw;
  if ((raw.type === "reply" || raw.type === "send") && raw.file !== undefined) {
    const f = raw.file;
    if (!isRecord(f) || typeof f.dataBase64 !== "string" || !isCount(f.size)) fail(`action ${index}: file must be { name, type, size, dataBase64 }`);
    const decoded = base64Bytes(f.dataBase64);
    if (decoded === null || decoded !== f.size) fail(`action ${index}: file.dataBase64 is not base64 of file.size bytes`);
    const { dataBase64: _data, size: _size, ...nameAndType } = f;
    json = { ...raw, file: nameAndType };
    fileBytes = decoded;
    file = { name: String(f.name), type: String(f.type), size: decoded, dataBase64: f.dataBase64 };
  }
  let action: Action;
  try {
    action = parseAction(JSON.stringify(json));
  } catch (error) {
    fail(`action ${index}: ${(error as Error).message}`);
  }
  if (file && (action.type === "reply" || action.type === "send")) action = { ...action, file };
  return { action, bytes: actionPayloadBytes(action, fileBytes === undefined ? undefined : new Uint8Array(0)) + (fileBytes ?? 0) };
}

function checkLogs(raw: unknown, limits: EventLimits): LogEntry[] {
  if (!Array.isArray(raw)) fail("logs is not a list");
  let bytes = 0;
  return raw.map((entry: unknown, index) => {
    if (!isRecord(entry) || !LOG_LEVELS.includes(entry.level as string) || typeof entry.text !== "string" || !isCount(entry.atMs)) {
      fail(`log entry ${index} is not { level, text, atMs }`);
    }
    bytes += logEntryBytes(entry.text);
    if (bytes > limits.logBytesPerEvent) fail(`the log is over logBytesPerEvent (${limits.logBytesPerEvent} bytes)`);
    return { level: entry.level as LogEntry["level"], text: entry.text, atMs: entry.atMs };
  });
}

function checkState(raw: unknown, request: RunRequest): Record<string, string> | null {
  if (raw === null) return null;
  if (!isRecord(raw)) fail("state is neither null nor a record");
  const sizeOf = (state: Record<string, unknown>) => {
    let bytes = 0;
    for (const [key, json] of Object.entries(state)) {
      if (typeof json !== "string") fail(`state value of ${JSON.stringify(key.slice(0, 40))} is not JSON text`);
      bytes += stateEntryBytes(key, json);
    }
    return bytes;
  };
  const bytes = sizeOf(raw);
  // A state already over a lowered quota may stay there; it may not grow (event-recorder.ts). The
  // state before is sized only then: an event in quota (every usual one) costs no second pass.
  if (bytes > request.limits.stateBytes && bytes > sizeOf(request.state)) fail(`state of ${bytes} bytes is over stateBytes (${request.limits.stateBytes})`);
  // A fresh object: no prototype tricks ("__proto__" as a key) reach the host's stores.
  return Object.fromEntries(Object.entries(raw)) as Record<string, string>;
}

/** The RunResult a runner sent for `request`, checked field by field; throws RunnerMessageError. */
export function checkRunnerResult(raw: unknown, request: RunRequest): RunResult {
  const { limits } = request;
  if (!isRecord(raw)) fail("the result is not an object");
  if (!STATUSES.includes(raw.status as RunStatus)) fail("the result's status is not a known one");
  if (!Array.isArray(raw.actions) || raw.actions.length > limits.actionsPerEvent) fail(`actions is not a list of at most ${limits.actionsPerEvent}`);
  if (raw.status !== "ok" && raw.actions.length > 0) fail("an event that did not end ok has actions");
  let actionBytes = 0;
  const actions = raw.actions.map((entry: unknown, index) => {
    const { action, bytes } = checkAction(entry, index);
    actionBytes += bytes;
    return action;
  });
  if (actionBytes > limits.actionBytesPerEvent) fail(`the actions carry ${actionBytes} bytes, over actionBytesPerEvent (${limits.actionBytesPerEvent})`);
  const logs = checkLogs(raw.logs, limits);
  const state = checkState(raw.state, request);
  if (raw.status !== "ok" && state !== null) fail("an event that did not end ok changed the state");
  for (const key of ["cpuMs", "wallMs", "memoryBytes"] as const) if (!isCount(raw[key])) fail(`${key} is not a number ≥ 0`);
  const fetch = raw.fetch;
  if (!isRecord(fetch) || !isCount(fetch.count) || !isCount(fetch.bytesIn) || !isCount(fetch.bytesOut)) fail("fetch is not { count, bytesIn, bytesOut }");
  const result: RunResult = {
    status: raw.status as RunStatus,
    actions,
    logs,
    state,
    cpuMs: raw.cpuMs as number,
    wallMs: raw.wallMs as number,
    memoryBytes: raw.memoryBytes as number,
    fetch: { count: fetch.count, bytesIn: fetch.bytesIn, bytesOut: fetch.bytesOut },
  };
  if (raw.error !== undefined) {
    const error = raw.error;
    if (!isRecord(error) || !isString(error.code, ERROR_CODE_MAX_CHARS) || !isString(error.message, ERROR_MESSAGE_MAX_CHARS)) {
      fail("error is not { code, message } within their caps");
    }
    if (error.stack !== undefined && !isString(error.stack, ERROR_STACK_MAX_CHARS)) fail("error.stack is over its cap");
    result.error = { code: error.code, message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }) };
  }
  if (raw.limit !== undefined) {
    const limit = raw.limit;
    if (!isRecord(limit) || !Object.hasOwn(limits, String(limit.name)) || !isCount(limit.value) || !LIMIT_UNITS.includes(limit.unit as string)) {
      fail("limit is not { name, value, unit } of an event limit");
    }
    result.limit = { name: limit.name as keyof EventLimits, value: limit.value, unit: limit.unit as "ms" | "bytes" | "count" };
  }
  return result;
}

/** A fetch request or cancel a runner sent: plain data of the right types (the host applies the policy). */
export function checkRunnerFetch(raw: Record<string, unknown>): FetchStartMessage | FetchCancelMessage {
  if (!Number.isSafeInteger(raw.fetchId)) fail("fetchId is not a whole number");
  if (raw.type === "fetch-cancel") return { type: "fetch-cancel", id: raw.id as number, fetchId: raw.fetchId as number };
  const request = raw.request;
  if (
    !isRecord(request) ||
    !isString(request.url, FETCH_REQUEST_MAX_CHARS) ||
    !isString(request.method, FETCH_REQUEST_MAX_CHARS) ||
    !Array.isArray(request.headers)
  ) {
    fail("a fetch request is not { url, method, headers }");
  }
  let chars = request.url.length + request.method.length;
  const headers = request.headers.map((pair: unknown) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") fail("a fetch header is not [name, value]");
    chars += pair[0].length + pair[1].length;
    return [pair[0], pair[1]] as [string, string];
  });
  if (chars > FETCH_REQUEST_MAX_CHARS) fail("a fetch request is over its size cap");
  const body = raw.body;
  if (body !== undefined && !(body instanceof Uint8Array)) fail("a fetch body is not bytes");
  return { type: "fetch", id: raw.id as number, fetchId: raw.fetchId as number, request: { url: request.url, method: request.method, headers }, body };
}

/**
 * The result of `message` with its state whole: a runner that sent what the event changed
 * (stateChanges) instead of the state after has it applied to the request's state here, after a
 * check of its shape; checkRunnerResult then checks the whole state as if it had been sent.
 * `changes` are those changes, in fresh objects (for the state file's log: bot-state-file.ts).
 */
export function withStateChanges(message: { result: unknown; stateChanges?: unknown }, request: RunRequest): { result: unknown; changes?: StateChanges } {
  const raw = message.stateChanges;
  if (raw === undefined) return { result: message.result };
  if (!isRecord(raw) || !Array.isArray(raw.deleted) || !isRecord(raw.set)) fail("stateChanges is not { deleted, set }");
  if (!raw.deleted.every((key: unknown) => typeof key === "string")) fail("stateChanges.deleted is not a list of keys");
  if (!isRecord(message.result) || message.result.status !== "ok" || message.result.state !== null)
    fail("stateChanges come with an ok result whose state is null");
  for (const [key, json] of Object.entries(raw.set)) {
    if (typeof json !== "string") fail(`state value of ${JSON.stringify(key.slice(0, 40))} is not JSON text`);
  }
  // Fresh objects: no prototype tricks ("__proto__" as a key is an own entry, as in the state).
  const changes: StateChanges = { deleted: [...(raw.deleted as string[])], set: Object.fromEntries(Object.entries(raw.set as Record<string, string>)) };
  return { result: { ...message.result, state: applyStateChanges(request.state, changes) }, changes };
}
