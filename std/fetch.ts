// bot.fetch: a subset of WHATWG fetch, carried out by the host under the operator's allowlist.
import type { FetchRequestData, FetchResponseData, HostFunctions } from "./contract.js";
import type { FetchHeaders, FetchInit, FetchResponse } from "./types.js";
import { toArrayBuffer } from "./bytes.js";
import { asBotError } from "./host.js";

function normalizeHeaders(headers: FetchInit["headers"]): Array<[string, string]> {
  if (!headers) return [];
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  return pairs.map(([name, value]) => [String(name), String(value)]);
}

function makeHeaders(pairs: Array<[string, string]>): FetchHeaders {
  const lower = pairs.map(([name, value]): [string, string] => [name.toLowerCase(), value]);
  return {
    get(name) {
      const values = lower.filter(([key]) => key === name.toLowerCase()).map(([, value]) => value);
      return values.length === 0 ? null : values.join(", ");
    },
    has: (name) => lower.some(([key]) => key === name.toLowerCase()),
    entries: () => lower.map(([key, value]): [string, string] => [key, value]),
  };
}

/** Build `bot.fetch` over the host's fetch function. */
export function makeFetch(host: HostFunctions) {
  return async function fetch(url: string, init: FetchInit = {}): Promise<FetchResponse> {
    const request: FetchRequestData = {
      url: String(url),
      method: (init.method ?? "GET").toUpperCase(),
      headers: normalizeHeaders(init.headers),
    };
    const body = init.body === undefined ? undefined : toArrayBuffer(host, init.body);
    let answer: [string, ArrayBuffer];
    try {
      answer = await host.fetch(JSON.stringify(request), body);
    } catch (error) {
      throw asBotError(error);
    }
    const meta = JSON.parse(answer[0]) as FetchResponseData;
    const bytes = answer[1];
    let used = false;
    const take = () => {
      if (used) throw new TypeError("fetch: the response body was already read");
      used = true;
      return bytes;
    };
    return {
      ok: meta.status >= 200 && meta.status < 300,
      status: meta.status,
      statusText: meta.statusText,
      url: meta.url,
      redirected: meta.redirected,
      headers: makeHeaders(meta.headers),
      text: async () => host.utf8Decode(take()),
      json: async <T>() => JSON.parse(host.utf8Decode(take())) as T,
      arrayBuffer: async () => take(),
      bytes: async () => new Uint8Array(take()),
    };
  };
}
