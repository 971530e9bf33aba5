// The host side of std/contract.ts HostFunctions: installs globalThis.__chatbotHost in one context.
// Guest input is untrusted even when it comes through std (a bot can call these directly), so
// every argument is type-checked here and every refusal is a guest Error "E_CODE: message".
import type { QuickJSContext, QuickJSHandle, VmCallResult } from "quickjs-emscripten-core";
import { HOST_GLOBAL, type FetchRequestData, type LogLevel } from "../../std/contract.js";
import { isChatbotError } from "../errors.js";
import { EventRecorder, LimitExceeded } from "./event-recorder.js";
import { GuestRefusal } from "./guest-refusal.js";
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
  /** Called with every in-flight host operation so the driver can await it. */
  track: (operation: Promise<void>) => void;
  /** Counts fetched bytes. */
  onFetched: (bytesIn: number, bytesOut: number) => void;
  /** The stable Message-ID of the mail of action number `index` (RunRequest.messageIds). */
  messageIdFor: (index: number) => string;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

function refusalOf(error: unknown): GuestRefusal {
  if (error instanceof GuestRefusal) return error;
  if (error instanceof LimitExceeded) return new GuestRefusal(`E_LIMIT_${error.limit.name}`, error.message);
  if (isChatbotError(error)) return new GuestRefusal(error.code, error.message);
  return new GuestRefusal("E_HOST", "the host could not complete this call");
}

function parseFetchRequest(json: string): FetchRequestData {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new GuestRefusal("E_FETCH_REQUEST", "request is not valid JSON");
  }
  const request = value as Record<string, unknown>;
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
  const fail = (error: unknown): VmCallResult<QuickJSHandle> => {
    const refusal = refusalOf(error);
    return { error: ctx.newError({ name: "Error", message: `${refusal.code}: ${refusal.message}` }) };
  };
  const guard = (fn: (...args: QuickJSHandle[]) => QuickJSHandle | undefined) =>
    (...args: QuickJSHandle[]): QuickJSHandle | VmCallResult<QuickJSHandle> | undefined => {
      try {
        return fn(...args);
      } catch (error) {
        return fail(error);
      }
    };
  const str = (handle: QuickJSHandle | undefined, what: string): string => {
    if (handle === undefined || ctx.typeof(handle) !== "string") throw new GuestRefusal("E_ARGUMENT", `${what} must be a string`);
    return ctx.getString(handle);
  };
  const bytesOf = (handle: QuickJSHandle | undefined): Uint8Array | undefined => {
    if (handle === undefined || ctx.typeof(handle) === "undefined") return undefined;
    if (ctx.typeof(handle) !== "object") throw new GuestRefusal("E_ARGUMENT", "bytes must be an ArrayBuffer");
    try {
      // Copy out of WASM memory: the lifetime's view dies with it.
      return ctx.getArrayBuffer(handle).consume((view) => new Uint8Array(view.value));
    } catch {
      throw new GuestRefusal("E_ARGUMENT", "bytes must be an ArrayBuffer");
    }
  };
  // new Uint8Array(view) copies exactly the view's bytes; Buffer#slice would share Node's pool.
  const arrayBuffer = (bytes: Uint8Array) => ctx.newArrayBuffer(new Uint8Array(bytes).buffer);
  const { recorder } = deps;

  const functions: Record<string, (...args: QuickJSHandle[]) => QuickJSHandle | undefined> = {
    event: () => ctx.newString(deps.eventJson),
    emit: (json, bytes) => {
      const action = parseAction(str(json, "action"));
      const index = recorder.addAction(action, bytesOf(bytes));
      // A resend reuses the stored mail and its id; every other action's mail gets the id of its index.
      return ctx.newString(action.type === "resend" ? action.messageId : deps.messageIdFor(index));
    },
    log: (level, text) => {
      const name = str(level, "level") as LogLevel;
      if (!LOG_LEVELS.includes(name)) throw new GuestRefusal("E_ARGUMENT", "unknown log level");
      recorder.addLog(name, str(text, "text"));
      return undefined;
    },
    stateGet: (key) => {
      const json = recorder.stateGet(str(key, "key"));
      return json === undefined ? undefined : ctx.newString(json);
    },
    stateSet: (key, json) => {
      const text = str(json, "value");
      try {
        JSON.parse(text);
      } catch {
        throw new GuestRefusal("E_STATE", "state values must be JSON text");
      }
      recorder.stateSet(str(key, "key"), text);
      return undefined;
    },
    stateDelete: (key) => {
      recorder.stateDelete(str(key, "key"));
      return undefined;
    },
    stateKeys: () => ctx.newString(JSON.stringify(recorder.stateKeys())),
    now: () => ctx.newNumber(deps.now()),
    attachment: (index) => {
      const i = index === undefined ? NaN : ctx.getNumber(index);
      const bytes = deps.attachments[i];
      if (!Number.isInteger(i) || bytes === undefined) throw new GuestRefusal("E_ARGUMENT", "no attachment with that index");
      return arrayBuffer(bytes);
    },
    utf8Encode: (text) => arrayBuffer(Buffer.from(str(text, "text"), "utf8")),
    utf8Decode: (bytes) => ctx.newString(Buffer.from(bytesOf(bytes) ?? new Uint8Array()).toString("utf8")),
    fetch: (json, body) => {
      const request = parseFetchRequest(str(json, "request"));
      const requestBody = bytesOf(body);
      recorder.startFetch();
      const deferred = ctx.newPromise();
      const operation = deps.fetch(request, requestBody).then(
        (result) => {
          deps.onFetched(result.bytesIn, result.bytesOut);
          if (!ctx.alive || !deferred.alive) return;
          const pair = ctx.newArray();
          ctx.newString(JSON.stringify(result.response)).consume((h) => ctx.setProp(pair, 0, h));
          arrayBuffer(result.body).consume((h) => ctx.setProp(pair, 1, h));
          deferred.resolve(pair);
          pair.dispose();
        },
        (error: unknown) => {
          if (!ctx.alive || !deferred.alive) return;
          const refusal = refusalOf(error);
          ctx.newError({ name: "Error", message: `${refusal.code}: ${refusal.message}` }).consume((h) => deferred.reject(h));
        },
      ).finally(() => {
        if (deferred.alive) deferred.dispose();
      });
      deps.track(operation);
      // The library disposes what a host function returns (after duplicating it): hand it a dup.
      return deferred.handle.dup();
    },
  };

  const hostObject = ctx.newObject();
  for (const [name, fn] of Object.entries(functions)) {
    ctx.newFunction(name, guard(fn)).consume((handle) => ctx.setProp(hostObject, name, handle));
  }
  ctx.setProp(ctx.global, HOST_GLOBAL, hostObject);
  hostObject.dispose();
}
