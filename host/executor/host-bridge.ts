// The host side of std/contract.ts HostFunctions: installs globalThis.__chatbotHost in one context.
// Guest input is untrusted even when it comes through std (a bot can call these directly), so
// every argument is type-checked here and every refusal is a guest Error carrying `{ code, message }`
// (guest-refusal.ts).
// Every string and ArrayBuffer argument is measured on its handle and refused over its cap before
// it is copied to the host (guest-values.ts), and no call starts once the event is over a budget:
// QuickJS polls its interrupt handler only every ~10 000 jumps, so a loop of host calls would
// otherwise run on long past the CPU budget.
import type { QuickJSContext, QuickJSHandle, VmCallResult } from "quickjs-emscripten-core";
import { HOST_GLOBAL, type FetchRequestData, type LogLevel } from "../../std/contract.js";
import { ACTION_JSON_MAX_CHARS, FETCH_REQUEST_JSON_MAX_CHARS, UTF8_CONVERT_MAX_BYTES, fetchRequestBodyMaxBytes } from "../../core/limits.js";
import { actionPayloadBytes, type EventRecorder } from "./event-recorder.js";
import { GuestRefusal, newGuestRefusal, refusalOf } from "./guest-refusal.js";
import { exactGuestString, guestStringLength, newExactGuestString, readGuestBytes, readGuestString, type OverCap } from "./guest-values.js";
import { checkJsonText } from "./json-check.js";
import type { Settlement } from "./guest-promises.js";
import { parseAction } from "./parse-action.js";

/** What a fetch returns to the bridge (see host/fetch). */
export interface BridgeFetchResult {
  response: { url: string; status: number; statusText: string; headers: Array<[string, string]>; redirected: boolean };
  body: Uint8Array;
  bytesIn: number;
  bytesOut: number;
}

/** What the bridge needs from the isolate run that owns it. */
export interface BridgeDeps {
  eventJson: string;
  attachments: readonly Uint8Array[];
  recorder: EventRecorder;
  /** Milliseconds since the epoch for bot.now(). */
  now: () => number;
  /** Perform a fetch; rejects with a ChatbotError on refusal. */
  fetch: (request: FetchRequestData, body: Uint8Array | undefined) => Promise<BridgeFetchResult>;
  /**
   * A guest promise for a host operation: the driver awaits `operation` and runs its settlement as
   * the guest's metered work, unless the event ended first. The caller returns the handle.
   */
  pending: (operation: Promise<Settlement>) => QuickJSHandle;
  /** Counts fetched bytes. */
  onFetched: (bytesIn: number, bytesOut: number) => void;
  /** The stable Message-ID of the mail of action number `index` (RunRequest.messageIds). */
  messageIdFor: (index: number) => string;
  /** Which budget the event is over, if any (the interrupt handler's verdict); no call starts then. */
  overBudget: () => "cpu" | "wall" | "output" | undefined;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

function parseFetchRequest(json: string): FetchRequestData {
  // { headers: [[name, value]] } is three levels deep: anything deeper is not a request, and is not parsed.
  if (checkJsonText(json, 3) !== "ok") throw new GuestRefusal("E_FETCH_REQUEST", "request must be JSON of { url, method, headers: [name, value][] }");
  const request = JSON.parse(json) as Record<string, unknown>;
  const headers = request?.headers;
  if (
    typeof request?.url !== "string" ||
    typeof request.method !== "string" ||
    !Array.isArray(headers) ||
    !headers.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((part) => typeof part === "string"))
  ) {
    throw new GuestRefusal("E_FETCH_REQUEST", "request must be { url, method, headers: [name, value][] }");
  }
  return { url: request.url, method: request.method, headers: headers as Array<[string, string]> };
}

/** Install the host functions for one event into `ctx`. */
export function installHostBridge(ctx: QuickJSContext, deps: BridgeDeps): void {
  const fail = (error: unknown): VmCallResult<QuickJSHandle> => ({ error: newGuestRefusal(ctx, refusalOf(error)) });
  const { recorder } = deps;
  const { limits } = recorder;
  /** Refuse every call once the event is over a budget: it ends at the interrupt handler's next poll. */
  const checkBudget = () => {
    const over = deps.overBudget();
    if (over === "cpu") throw new GuestRefusal("E_LIMIT_cpuMsPerEvent", `CPU budget of ${limits.cpuMsPerEvent} ms per event used up`);
    if (over === "wall") throw new GuestRefusal("E_LIMIT_wallMsPerEvent", `wall time budget of ${limits.wallMsPerEvent} ms per event used up`);
    if (over === "output" && recorder.limitHit) throw new GuestRefusal(`E_LIMIT_${recorder.limitHit.name}`, `output limit ${recorder.limitHit.name} reached`);
  };
  const guard =
    (fn: (...args: QuickJSHandle[]) => QuickJSHandle | undefined) =>
    (...args: QuickJSHandle[]): QuickJSHandle | VmCallResult<QuickJSHandle> | undefined => {
      try {
        checkBudget();
        return fn(...args);
      } catch (error) {
        return fail(error);
      }
    };
  /** A refusal for an argument longer than its cap, naming the cap. */
  const tooLong =
    (code: string, what: string, max: number, unit: string): OverCap =>
    (size) => {
      throw new GuestRefusal(code, `${what} is ${size} ${unit}; at most ${max} ${unit} are accepted`);
    };
  /** A string argument; one over `maxUnits` UTF-16 code units goes to `over` before it is read. */
  const str = (
    handle: QuickJSHandle | undefined,
    what: string,
    maxUnits: number,
    over: OverCap = tooLong("E_ARGUMENT", what, maxUnits, "characters"),
  ): string => {
    const text = handle === undefined ? undefined : readGuestString(ctx, handle, maxUnits, over);
    if (text === undefined) throw new GuestRefusal("E_ARGUMENT", `${what} must be a string`);
    return text;
  };
  /** An optional ArrayBuffer argument; one over `maxBytes` goes to `over` before it is copied. */
  const bytesOf = (handle: QuickJSHandle | undefined, maxBytes: number, over: OverCap): Uint8Array | undefined => {
    if (handle === undefined || ctx.typeof(handle) === "undefined") return undefined;
    const bytes = readGuestBytes(ctx, handle, maxBytes, over);
    if (bytes === undefined) throw new GuestRefusal("E_ARGUMENT", "bytes must be an ArrayBuffer");
    return bytes;
  };
  /**
   * A state key, or undefined for one longer than the whole stateBytes quota: such a key is never
   * stored (its UTF-8 is at least its length), so it is not read.
   */
  const stateKey = (handle: QuickJSHandle | undefined): string | undefined => {
    if (handle === undefined || ctx.typeof(handle) !== "string") throw new GuestRefusal("E_ARGUMENT", "key must be a string");
    const units = guestStringLength(ctx, handle);
    return units > limits.stateBytes ? undefined : exactGuestString(ctx, handle, units);
  };
  // new Uint8Array(view) copies exactly the view's bytes; Buffer#slice would share Node's pool.
  const arrayBuffer = (bytes: Uint8Array) => ctx.newArrayBuffer(new Uint8Array(bytes).buffer);
  const overActionBytes: OverCap = () => recorder.refuseActionBytes();

  const functions: Record<string, (...args: QuickJSHandle[]) => QuickJSHandle | undefined> = {
    event: () => ctx.newString(deps.eventJson),
    emit: (json, bytes, text) => {
      recorder.checkActionRoom();
      const what = "the action's JSON (ids, file name and type, a webxdc update; a message's text and file bytes cross beside it)";
      const actionJson = str(json, "action", ACTION_JSON_MAX_CHARS, tooLong("E_ACTION", what, ACTION_JSON_MAX_CHARS, "characters"));
      // A message's text is read only when it fits in what is left of actionBytesPerEvent.
      const messageText = text === undefined || ctx.typeof(text) === "undefined" ? undefined : str(text, "text", recorder.actionBytesLeft(), overActionBytes);
      const action = parseAction(actionJson, messageText);
      // File bytes are read only for an action with a file, and only when they fit in what is left.
      const hasFile = (action.type === "reply" || action.type === "send") && action.file !== undefined;
      const fileBytes = hasFile ? bytesOf(bytes, recorder.actionBytesLeft() - actionPayloadBytes(action, undefined), overActionBytes) : undefined;
      const index = recorder.addAction(action, fileBytes);
      // A resend reuses the stored mail and its id; every other action's mail gets the id of its index.
      return ctx.newString(action.type === "resend" ? action.messageId : deps.messageIdFor(index));
    },
    log: (level, text) => {
      const unknownLevel: OverCap = () => {
        throw new GuestRefusal("E_ARGUMENT", "unknown log level");
      };
      const name = str(level, "level", Math.max(...LOG_LEVELS.map((l) => l.length)), unknownLevel) as LogLevel;
      if (!LOG_LEVELS.includes(name)) unknownLevel(0);
      // The text is read only when it fits in what is left of logBytesPerEvent.
      recorder.addLog(
        name,
        str(text, "text", Math.max(0, recorder.logTextBytesLeft()), () => recorder.refuseLogBytes()),
      );
      return undefined;
    },
    stateGet: (key) => {
      const name = stateKey(key);
      const json = name === undefined ? undefined : recorder.stateGet(name);
      return json === undefined ? undefined : ctx.newString(json);
    },
    stateSet: (key, json) => {
      const name = stateKey(key);
      if (name === undefined) return recorder.refuseStateBytes(guestStringLength(ctx, key!));
      if (json === undefined || ctx.typeof(json) !== "string") throw new GuestRefusal("E_ARGUMENT", "value must be a string");
      // Quota first, by the value's length (its UTF-8 is at least that); only then read and check it.
      const units = guestStringLength(ctx, json);
      recorder.checkStateRoom(name, units);
      const text = exactGuestString(ctx, json, units);
      if (checkJsonText(text, Infinity) !== "ok") throw new GuestRefusal("E_STATE", "state values must be JSON text");
      recorder.stateSet(name, text);
      return undefined;
    },
    stateDelete: (key) => {
      const name = stateKey(key);
      if (name !== undefined) recorder.stateDelete(name);
      return undefined;
    },
    stateKeys: () => ctx.newString(JSON.stringify(recorder.stateKeys())),
    now: () => ctx.newNumber(deps.now()),
    attachment: (index) => {
      // Only a number: converting anything else would run its valueOf or parse a string of any size.
      const i = index === undefined || ctx.typeof(index) !== "number" ? NaN : ctx.getNumber(index);
      const bytes = deps.attachments[i];
      if (!Number.isInteger(i) || bytes === undefined) throw new GuestRefusal("E_ARGUMENT", "no attachment with that index");
      return arrayBuffer(bytes);
    },
    utf8Encode: (text) => {
      const overUtf8 = tooLong("E_ARGUMENT", "the text to encode", UTF8_CONVERT_MAX_BYTES, "bytes");
      const value = str(text, "text", UTF8_CONVERT_MAX_BYTES, overUtf8);
      const size = Buffer.byteLength(value, "utf8");
      if (size > UTF8_CONVERT_MAX_BYTES) overUtf8(size);
      return arrayBuffer(Buffer.from(value, "utf8"));
    },
    utf8Decode: (bytes) => {
      const data = bytesOf(bytes, UTF8_CONVERT_MAX_BYTES, tooLong("E_ARGUMENT", "the bytes to decode", UTF8_CONVERT_MAX_BYTES, "bytes"));
      return newExactGuestString(ctx, data === undefined ? "" : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"));
    },
    fetch: (json, body) => {
      const request = parseFetchRequest(
        str(json, "request", FETCH_REQUEST_JSON_MAX_CHARS, tooLong("E_FETCH_REQUEST", "the request's JSON", FETCH_REQUEST_JSON_MAX_CHARS, "characters")),
      );
      const maxBodyBytes = fetchRequestBodyMaxBytes(limits);
      const requestBody = bytesOf(body, maxBodyBytes, (size) => {
        throw new GuestRefusal("E_FETCH_TOO_LARGE", `the request body of ${size} bytes is larger than the ${maxBodyBytes}-byte limit`);
      });
      recorder.startFetch();
      // The settlements touch the VM only when the driver runs them, inside the event, metered.
      return deps.pending(
        deps.fetch(request, requestBody).then(
          (result): Settlement => {
            deps.onFetched(result.bytesIn, result.bytesOut);
            return () => {
              const pair = ctx.newArray();
              // defineProp, not setProp: a setter the guest put on Array.prototype must not run here.
              ctx.newString(JSON.stringify(result.response)).consume((h) => ctx.defineProp(pair, 0, { value: h, enumerable: true }));
              arrayBuffer(result.body).consume((h) => ctx.defineProp(pair, 1, { value: h, enumerable: true }));
              return { value: pair };
            };
          },
          (error: unknown): Settlement => {
            const refusal = refusalOf(error);
            return () => ({ error: newGuestRefusal(ctx, refusal) });
          },
        ),
      );
    },
  };

  const hostObject = ctx.newObject();
  for (const [name, fn] of Object.entries(functions)) {
    ctx.newFunction(name, guard(fn)).consume((handle) => ctx.setProp(hostObject, name, handle));
  }
  ctx.setProp(ctx.global, HOST_GLOBAL, hostObject);
  hostObject.dispose();
}
