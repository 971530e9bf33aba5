// The host side of std/contract.ts HostFunctions: installs globalThis.__chatbotHost in one context.
// Guest input is untrusted even when it comes through std (a bot can call these directly), so
// every argument is type-checked here and every refusal is a guest Error "E_CODE: message".
import type { QuickJSContext, QuickJSHandle, VmCallResult } from "quickjs-emscripten-core";
import { HOST_GLOBAL, type FetchRequestData, type LogLevel } from "../../std/contract.js";
import { isChatbotError } from "../errors.js";
import { EventRecorder, LimitExceeded } from "./event-recorder.js";
import { GuestRefusal } from "./guest-refusal.js";
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
            return () => ({ error: ctx.newError({ name: "Error", message: `${refusal.code}: ${refusal.message}` }) });
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
