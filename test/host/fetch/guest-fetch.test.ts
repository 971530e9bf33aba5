// Every attack here is performed for real against servers on 127.0.0.1; nothing leaves loopback.
// Where a test needs a "public" server, an injected socket opener maps the documentation address
// 198.51.100.7 to a loopback server after the guard approved it.

import type { IncomingMessage, ServerResponse } from "node:http";
import { buildConnector } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FetchRequestData } from "../../../std/contract.js";
import { isChatbotError } from "../../../core/errors.js";
import { createGuestFetch, type GuestFetchOptions } from "../../../host/fetch/guest-fetch.js";
import type { Lookup } from "../../../host/fetch/guarded-connector.js";
import { TEST_TLS, startHttpServer, startHttpsServer, unusedPort, type TestServer } from "../../support/test-servers.js";

const MiB = 1024 * 1024;
const CAP_BYTES = 1000; // the response cap of most tests; the streaming attack uses 10 MiB

/** What the 100 MB endpoint managed to hand to its socket before the client hung up. */
const stream = { bytesWritten: 0, closed: Promise.resolve() };

function respond(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? "/", "https://x");
  const path = url.pathname;
  if (path === "/hello") {
    response.writeHead(200, "Fine", [
      ["content-type", "text/plain"],
      ["x-test", "yes"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
    ]);
    response.end("hello world");
  } else if (path === "/redirect") {
    response.writeHead(Number(url.searchParams.get("status") ?? 302), { location: url.searchParams.get("to") ?? "/hello" });
    response.end("moved");
  } else if (path.startsWith("/chain/")) {
    const left = Number(path.slice("/chain/".length));
    if (left === 0) response.end("end of chain");
    else response.writeHead(302, { location: `/chain/${left - 1}` }).end();
  } else if (path === "/echo") {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ method: request.method, headers: request.headers, body }));
    });
  } else if (path === "/exact") {
    // n bytes, streamed without Content-Length unless ?length is set.
    const n = Number(url.searchParams.get("n"));
    if (url.searchParams.has("length")) response.setHeader("content-length", n);
    response.write(Buffer.alloc(Math.floor(n / 2), 97));
    setImmediate(() => response.end(Buffer.alloc(n - Math.floor(n / 2), 98)));
  } else if (path === "/declared-huge") {
    // Promises 20 MiB and then sends nothing: only a client that trusts the header fails fast.
    response.writeHead(200, { "content-length": String(20 * MiB) });
    response.flushHeaders();
  } else if (path === "/stream-100mb") {
    stream.bytesWritten = 0;
    stream.closed = new Promise((resolve) => response.once("close", resolve));
    void streamHundredMegabytes(response);
  } else if (path === "/hang") {
    // Never answers.
  } else {
    response.writeHead(404).end();
  }
}

async function streamHundredMegabytes(response: ServerResponse): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 120);
  response.writeHead(200, { "content-type": "application/octet-stream" }); // chunked: no Content-Length
  while (stream.bytesWritten < 100 * MiB && !response.destroyed) {
    stream.bytesWritten += chunk.length;
    if (!response.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          response.off("drain", done).off("close", done);
          resolve();
        };
        response.on("drain", done).on("close", done);
      });
    }
  }
  response.end();
}

let main: TestServer; // https://127.0.0.1:main.port, allowed in most tests
let other: TestServer; // https://127.0.0.1:other.port, never allowed
let victim: TestServer; // what https://rebind.test:victim.port resolves to when an attacker rebinds it
let publicSite: TestServer; // stands in for 198.51.100.7
let plain: TestServer; // plain http on 127.0.0.1
const toClose: Array<() => Promise<void>> = [];

beforeAll(async () => {
  main = await startHttpsServer(respond);
  other = await startHttpsServer(respond);
  victim = await startHttpsServer(respond);
  plain = await startHttpServer(respond);
  publicSite = await startHttpsServer((request, response) => {
    // The attacker's public page: send the client back to the same name on a fresh connection.
    if (request.url === "/start") response.writeHead(302, { location: "/second", connection: "close" }).end();
    else response.end("public");
  });
});

afterEach(async () => {
  await Promise.all(toClose.splice(0).map((close) => close()));
});

afterAll(async () => {
  await Promise.all([main, other, victim, plain, publicSite].map((server) => server.close()));
});

const mainOrigin = (): string => `https://127.0.0.1:${main.port}`;

function guestFetch(overrides: Partial<GuestFetchOptions> = {}) {
  const guest = createGuestFetch({
    allowOrigins: [mainOrigin()],
    allowHttpLoopback: false,
    maxResponseBytes: CAP_BYTES,
    maxRequestBytes: CAP_BYTES,
    timeoutMs: 5000,
    maxRedirects: 5,
    lookup: async (hostname) => {
      throw new Error(`no DNS in this test (asked for ${hostname})`);
    },
    tls: { ca: TEST_TLS.ca },
    ...overrides,
  });
  toClose.push(() => guest.close());
  return guest;
}

const get = (url: string, headers: Array<[string, string]> = []): FetchRequestData => ({ url, method: "GET", headers });

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isChatbotError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("the fetch succeeded but should have failed");
}

describe("guest fetch", () => {
  it("fetch: an allowed https loopback origin answers with status, headers and body", async () => {
    const { response, body, bytesIn, bytesOut } = await guestFetch().fetch(get(`${mainOrigin()}/hello#frag`), undefined);
    expect(response).toMatchObject({ url: `${mainOrigin()}/hello`, status: 200, statusText: "Fine", redirected: false });
    expect(response.headers).toEqual(
      expect.arrayContaining([
        ["x-test", "yes"],
        ["set-cookie", "a=1"],
        ["set-cookie", "b=2"],
      ]),
    );
    expect(new TextDecoder().decode(body)).toBe("hello world");
    expect(bytesIn).toBeGreaterThan(body.byteLength); // body plus the estimated head
    expect(bytesOut).toBe(0);
  });

  it("fetch: a server with a certificate the host does not trust fails without a stack", async () => {
    const result = await failure(guestFetch({ tls: {} }).fetch(get(`${mainOrigin()}/hello`), undefined));
    expect(result.code).toBe("E_FETCH_FAILED");
    expect(result.message).toMatch(/TLS certificate/);
  });

  it("fetch: a non-allowed origin is refused and the server never sees a connection", async () => {
    const result = await failure(guestFetch().fetch(get(`https://127.0.0.1:${other.port}/hello`), undefined));
    expect(result.code).toBe("E_FETCH_ORIGIN");
    expect(result.message).toContain(`origin https://127.0.0.1:${other.port} is not allowed for this bot; ask the relay operator`);
    expect(other.connections).toBe(0);
  });

  it("fetch: plain http is refused when the loopback test flag is off", async () => {
    const fetcher = guestFetch({ allowOrigins: [`http://127.0.0.1:${plain.port}`] });
    const before = plain.connections;
    const result = await failure(fetcher.fetch(get(`http://127.0.0.1:${plain.port}/hello`), undefined));
    expect(result.code).toBe("E_FETCH_SCHEME");
    expect(plain.connections).toBe(before);
  });

  it("fetch: plain http to a non-loopback origin is refused even with the test flag", async () => {
    const fetcher = guestFetch({ allowHttpLoopback: true, allowOrigins: [mainOrigin(), `http://127.0.0.1:${plain.port}`] });
    expect((await failure(fetcher.fetch(get("http://api.example.org/"), undefined))).code).toBe("E_FETCH_SCHEME");
    expect((await failure(fetcher.fetch(get("file:///etc/passwd"), undefined))).code).toBe("E_FETCH_SCHEME");
    const ok = await fetcher.fetch(get(`http://127.0.0.1:${plain.port}/hello`), undefined);
    expect(ok.response.status).toBe(200);
  });

  it("fetch: an http origin outside loopback in the allowlist is a config error", () => {
    expect(() => guestFetch({ allowOrigins: ["http://api.example.org"] })).toThrow(expect.objectContaining({ code: "E_CONFIG" }));
  });

  it("fetch: a redirect to a non-allowed 127.0.0.1 port is refused before connecting", async () => {
    const to = encodeURIComponent(`https://127.0.0.1:${other.port}/hello`);
    const result = await failure(guestFetch().fetch(get(`${mainOrigin()}/redirect?to=${to}`), undefined));
    expect(result.code).toBe("E_FETCH_ORIGIN");
    expect(other.connections).toBe(0);
  });

  it("fetch: a redirect that downgrades to http is refused", async () => {
    const fetcher = guestFetch({ allowOrigins: [mainOrigin(), `http://127.0.0.1:${plain.port}`] });
    const to = encodeURIComponent(`http://127.0.0.1:${plain.port}/hello`);
    const before = plain.connections;
    expect((await failure(fetcher.fetch(get(`${mainOrigin()}/redirect?to=${to}`), undefined))).code).toBe("E_FETCH_SCHEME");
    expect(plain.connections).toBe(before);
  });

  it("fetch: a redirect chain of exactly maxRedirects is followed and reported", async () => {
    const { response, body } = await guestFetch({ maxRedirects: 3 }).fetch(get(`${mainOrigin()}/chain/3`), undefined);
    expect(response).toMatchObject({ url: `${mainOrigin()}/chain/0`, redirected: true, status: 200 });
    expect(new TextDecoder().decode(body)).toBe("end of chain");
  });

  it("fetch: a redirect chain one longer than maxRedirects fails", async () => {
    const result = await failure(guestFetch({ maxRedirects: 3 }).fetch(get(`${mainOrigin()}/chain/4`), undefined));
    expect(result).toMatchObject({ code: "E_FETCH_FAILED", message: expect.stringContaining("more than 3 redirects") });
  });

  it("fetch: a 303 after POST becomes a GET without body, a 307 resends the body", async () => {
    const fetcher = guestFetch();
    const post = (status: number): FetchRequestData => ({
      url: `${mainOrigin()}/redirect?status=${status}&to=/echo`,
      method: "POST",
      headers: [["content-type", "text/plain"]],
    });
    const body = new TextEncoder().encode("payload");
    const after303 = await fetcher.fetch(post(303), body);
    expect(JSON.parse(new TextDecoder().decode(after303.body))).toMatchObject({ method: "GET", body: "" });
    expect(after303.bytesOut).toBe(7);
    const after307 = await fetcher.fetch(post(307), body);
    expect(JSON.parse(new TextDecoder().decode(after307.body))).toMatchObject({ method: "POST", body: "payload" });
    expect(after307.bytesOut).toBe(14); // the body crossed the wire twice
  });

  it("fetch: a cross-origin redirect does not carry the bot's Authorization header", async () => {
    const localhostOrigin = `https://localhost:${main.port}`;
    const fetcher = guestFetch({ allowOrigins: [mainOrigin(), localhostOrigin] });
    const to = encodeURIComponent(`${localhostOrigin}/echo`);
    const { response, body } = await fetcher.fetch(get(`${mainOrigin()}/redirect?to=${to}`, [["authorization", "Bearer secret"]]), undefined);
    expect(response.url).toBe(`${localhostOrigin}/echo`);
    expect(JSON.parse(new TextDecoder().decode(body)).headers.authorization).toBeUndefined();
  });

  it("fetch: smuggling headers are dropped and user-agent defaults to chatbot", async () => {
    const { body } = await guestFetch().fetch(
      get(`${mainOrigin()}/echo`, [
        ["host", "evil.example"],
        ["transfer-encoding", "chunked"],
        ["proxy-authorization", "x"],
        ["x-k", "v"],
      ]),
      undefined,
    );
    const seen = JSON.parse(new TextDecoder().decode(body)).headers as Record<string, string>;
    expect(seen).toMatchObject({ host: `127.0.0.1:${main.port}`, "user-agent": "chatbot", "x-k": "v" });
    expect(seen["transfer-encoding"]).toBeUndefined();
    expect(seen["proxy-authorization"]).toBeUndefined();
  });

  it("fetch: CONNECT, a CRLF in a header and a body on GET are refused before sending", async () => {
    const fetcher = guestFetch();
    const before = main.requests.length;
    expect((await failure(fetcher.fetch({ ...get(`${mainOrigin()}/echo`), method: "CONNECT" }, undefined))).code).toBe("E_FETCH_REQUEST");
    expect((await failure(fetcher.fetch(get(`${mainOrigin()}/echo`, [["x", "a\r\nhost: evil"]]), undefined))).code).toBe("E_FETCH_REQUEST");
    expect((await failure(fetcher.fetch(get(`${mainOrigin()}/echo`), new Uint8Array(1)))).code).toBe("E_FETCH_REQUEST");
    expect(main.requests.length).toBe(before);
  });

  it("fetch: a request body at the cap is sent, one byte more is refused before sending", async () => {
    const fetcher = guestFetch({ maxResponseBytes: 64 * 1024 }); // the echo answer is larger than the request
    const post: FetchRequestData = { url: `${mainOrigin()}/echo`, method: "POST", headers: [] };
    const ok = await fetcher.fetch(post, new Uint8Array(CAP_BYTES));
    expect(ok.bytesOut).toBe(CAP_BYTES);
    const before = main.requests.length;
    expect((await failure(fetcher.fetch(post, new Uint8Array(CAP_BYTES + 1)))).code).toBe("E_FETCH_TOO_LARGE");
    expect(main.requests.length).toBe(before);
  });

  it("fetch: an allowed name that resolves to 127.0.0.1 is refused at connect time", async () => {
    const rebindOrigin = `https://rebind.test:${victim.port}`;
    const lookups: string[] = [];
    const lookup: Lookup = async (hostname) => {
      lookups.push(hostname);
      return [{ address: "127.0.0.1", family: 4 }];
    };
    const result = await failure(guestFetch({ allowOrigins: [rebindOrigin], lookup }).fetch(get(`${rebindOrigin}/hello`), undefined));
    expect(result.code).toBe("E_FETCH_ADDRESS");
    expect(result.message).toContain("rebind.test resolves to 127.0.0.1");
    expect(lookups).toEqual(["rebind.test"]);
    expect(victim.connections).toBe(0);
  });

  it("fetch: a redirect from an allowed loopback literal to a name resolving to loopback is refused", async () => {
    const rebindOrigin = `https://rebind.test:${victim.port}`;
    const lookup: Lookup = async () => [{ address: "127.0.0.1", family: 4 }];
    const fetcher = guestFetch({ allowOrigins: [mainOrigin(), rebindOrigin], lookup });
    const to = encodeURIComponent(`${rebindOrigin}/hello`);
    expect((await failure(fetcher.fetch(get(`${mainOrigin()}/redirect?to=${to}`), undefined))).code).toBe("E_FETCH_ADDRESS");
    expect(victim.connections).toBe(0);
  });

  it("fetch: DNS rebinding (public first, 127.0.0.1 on the next lookup) never connects to loopback", async () => {
    const rebindOrigin = `https://rebind.test:${victim.port}`;
    let lookups = 0;
    const lookup: Lookup = async () => [{ address: lookups++ === 0 ? "198.51.100.7" : "127.0.0.1", family: 4 }];
    // After the guard: 198.51.100.7 goes to the stand-in public server; anything else is connected for real.
    const real = buildConnector({ ca: TEST_TLS.ca });
    const opened: string[] = [];
    const connectSocket: buildConnector.connector = (options, callback) => {
      opened.push(options.hostname);
      if (options.hostname === "198.51.100.7") real({ ...options, hostname: "127.0.0.1", port: String(publicSite.port) }, callback);
      else real(options, callback);
    };
    const fetcher = guestFetch({ allowOrigins: [rebindOrigin], lookup, connectSocket });
    const result = await failure(fetcher.fetch(get(`${rebindOrigin}/start`), undefined));
    expect(result.code).toBe("E_FETCH_ADDRESS");
    expect(publicSite.requests).toEqual(["GET /start"]); // the first, public answer was really used
    expect(lookups).toBe(2); // the redirect needed a new socket, which resolved again
    expect(opened).toEqual(["198.51.100.7"]);
    expect(victim.connections).toBe(0);
  });

  it("fetch: an allowlisted https://127.0.0.1:10025 is still refused (relay SMTP port)", async () => {
    let smtp: TestServer | undefined;
    try {
      smtp = await startHttpsServer(respond, 10025);
    } catch {
      smtp = undefined; // port taken on this machine: the refusal is still checked below
    }
    try {
      const result = await failure(guestFetch({ allowOrigins: ["https://127.0.0.1:10025"] }).fetch(get("https://127.0.0.1:10025/"), undefined));
      expect(result.code).toBe("E_FETCH_ADDRESS");
      expect(smtp?.connections ?? 0).toBe(0);
    } finally {
      await smtp?.close();
    }
  });

  it("fetch: a 100 MB streamed response with a 10 MiB cap fails fast without buffering it", async () => {
    const fetcher = guestFetch({ maxResponseBytes: 10 * MiB });
    const heapBefore = process.memoryUsage().arrayBuffers;
    const result = await failure(fetcher.fetch(get(`${mainOrigin()}/stream-100mb`), undefined));
    expect(result.code).toBe("E_FETCH_TOO_LARGE");
    await stream.closed; // the client hung up, so the server stopped writing
    expect(stream.bytesWritten).toBeLessThan(20 * MiB); // 10 MiB cap plus socket buffers, far below 100 MB
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(40 * MiB); // about 10 MiB observed
  });

  it("fetch: a Content-Length over the cap is refused before reading the body", async () => {
    const result = await failure(guestFetch({ timeoutMs: 3000 }).fetch(get(`${mainOrigin()}/declared-huge`), undefined));
    expect(result.code).toBe("E_FETCH_TOO_LARGE"); // a client that read on would have timed out instead
  });

  it.each([
    ["streamed", ""],
    ["with Content-Length", "&length"],
  ])("fetch: a %s body of exactly maxResponseBytes passes and one byte more fails", async (_kind, flag) => {
    const fetcher = guestFetch();
    const ok = await fetcher.fetch(get(`${mainOrigin()}/exact?n=${CAP_BYTES}${flag}`), undefined);
    expect(ok.body.byteLength).toBe(CAP_BYTES);
    const over = await failure(fetcher.fetch(get(`${mainOrigin()}/exact?n=${CAP_BYTES + 1}${flag}`), undefined));
    expect(over.code).toBe("E_FETCH_TOO_LARGE");
  });

  it("fetch: a server that never answers times out within timeoutMs", async () => {
    const started = Date.now();
    const result = await failure(guestFetch({ timeoutMs: 300 }).fetch(get(`${mainOrigin()}/hang`), undefined));
    expect(result).toMatchObject({ code: "E_FETCH_TIMEOUT", message: expect.stringContaining("300 ms") });
    expect(Date.now() - started).toBeLessThan(300 + 4000); // generous slack for a busy machine
  });

  it("fetch: the event's wall deadline aborting the signal ends the fetch with a timeout", async () => {
    const controller = new AbortController();
    const fetcher = guestFetch({ timeoutMs: 30_000 });
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const result = await failure(fetcher.fetch(get(`${mainOrigin()}/hang`), undefined, controller.signal));
    expect(result).toMatchObject({ code: "E_FETCH_TIMEOUT", message: expect.stringContaining("wall-time budget") });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await failure(fetcher.fetch(get(`${mainOrigin()}/hello`), undefined, controller.signal))).code).toBe("E_FETCH_TIMEOUT");
  });

  it("fetch: a refused connection is a short E_FETCH_FAILED with no host stack", async () => {
    const port = await unusedPort();
    const result = await failure(guestFetch({ allowOrigins: [`https://127.0.0.1:${port}`] }).fetch(get(`https://127.0.0.1:${port}/`), undefined));
    expect(result).toEqual({ code: "E_FETCH_FAILED", message: `fetch from https://127.0.0.1:${port} failed: connection refused` });
  });
});
