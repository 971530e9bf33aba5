// bot.fetch through the whole sandbox (guest std → bridge → runner → undici): the attacks of
// issue 2, performed for real against servers on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import { hostLauncher } from "../../support/host-walls.js";
import type { FetchPolicy, HostFetchSettings } from "../../../host/executor/run-types.js";
import { FETCH_MAX_REDIRECTS } from "../../../core/limits.js";
import { botWithMessageHandler, messageAt, request } from "../../support/sandbox.js";
import { TEST_TLS, startHttpsServer, type TestServer } from "../../support/test-servers.js";

const MiB = 1024 * 1024;
let executor: Executor;
let api: TestServer; // the allowed origin
let internal: TestServer; // a loopback service the bot must never reach
let bigStreamed = 0;

beforeAll(async () => {
  // The test servers' certificate: trusted host-side for every event (the runner never sees it).
  executor = new Executor({ fetchSettings: { caPem: TEST_TLS.ca }, launcher: await hostLauncher() });
  internal = await startHttpsServer((_req, res) => res.end("secret"));
  api = await startHttpsServer((req, res) => {
    if (req.url === "/hello") {
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify({ hello: "world" }));
    }
    if (req.url === "/echo" && req.method === "POST") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      return req.on("end", () => res.end(`got ${Buffer.concat(chunks).toString()}`));
    }
    if (req.url?.startsWith("/chain/")) {
      // /chain/n redirects to /chain/n-1; /chain/0 answers.
      const left = Number(req.url.slice("/chain/".length));
      if (left === 0) return res.end("end of chain");
      res.statusCode = 302;
      res.setHeader("location", `/chain/${left - 1}`);
      return res.end();
    }
    if (req.url === "/to-internal") {
      res.statusCode = 302;
      res.setHeader("location", `https://127.0.0.1:${internal.port}/`);
      return res.end();
    }
    if (req.url === "/to-rebind") {
      res.statusCode = 302;
      res.setHeader("location", `https://rebind.test:${internal.port}/`);
      return res.end();
    }
    if (req.url === "/huge") {
      // 100 MB, streamed without Content-Length, 64 KiB at a time, as long as the client reads.
      const chunk = Buffer.alloc(64 * 1024, 120);
      let sent = 0;
      const pump = () => {
        while (sent < 100 * MiB) {
          sent += chunk.length;
          bigStreamed = sent;
          if (!res.write(chunk)) return res.once("drain", pump);
        }
        res.end();
      };
      res.on("close", () => undefined);
      return pump();
    }
    res.statusCode = 404;
    res.end();
  });
  await executor.warmUp();
});
afterAll(async () => {
  await executor.close();
  await api.close();
  await internal.close();
});

function policy(extra: Partial<FetchPolicy> = {}): FetchPolicy {
  return { allowOrigins: [`https://127.0.0.1:${api.port}`], allowHttpLoopback: false, ...extra };
}

const fetchBot = (url: string, init = "{}") =>
  botWithMessageHandler(`
    try {
      const res = await bot.fetch(${JSON.stringify(url)}, ${init});
      await bot.reply(JSON.stringify({ status: res.status, type: res.headers.get("content-type"), body: await res.text() }));
    } catch (e) {
      await bot.reply(JSON.stringify({ code: e.code, message: e.message }));
    }`);

async function fetchFromBot(url: string, extra: Partial<FetchPolicy> & Pick<HostFetchSettings, "hosts"> = {}, init?: string) {
  const { hosts, ...fetch } = extra;
  const result = await executor.run(request(fetchBot(url, init), { fetch: policy(fetch) }), hosts ? { hosts } : {});
  expect(result.status).toBe("ok");
  return { reply: JSON.parse(messageAt(result)!.text) as Record<string, unknown>, result };
}

describe("sandbox fetch", () => {
  it("an allowed origin answers, and the bytes are counted for the user's bandwidth", async () => {
    const { reply, result } = await fetchFromBot(`https://127.0.0.1:${api.port}/hello`);
    expect(reply).toEqual({ status: 200, type: "application/json", body: '{"hello":"world"}' });
    expect(result.fetch.count).toBe(1);
    expect(result.fetch.bytesIn).toBeGreaterThanOrEqual(17);
  });

  it("a POST body reaches the server", async () => {
    const { reply, result } = await fetchFromBot(`https://127.0.0.1:${api.port}/echo`, {}, `{ method: "POST", body: "ping" }`);
    expect(reply.body).toBe("got ping");
    expect(result.fetch.bytesOut).toBe(4);
  });

  it("a fetch to an origin that is not allowed is refused and never sent", async () => {
    const before = internal.connections;
    const { reply } = await fetchFromBot(`https://127.0.0.1:${internal.port}/`);
    expect(reply.code).toBe("E_FETCH_ORIGIN");
    expect(internal.connections).toBe(before);
  });

  it(`a chain of exactly FETCH_MAX_REDIRECTS (${FETCH_MAX_REDIRECTS}) redirects is followed; one more fails`, async () => {
    const { reply } = await fetchFromBot(`https://127.0.0.1:${api.port}/chain/${FETCH_MAX_REDIRECTS}`);
    expect(reply).toMatchObject({ status: 200, body: "end of chain" });
    const { reply: refused } = await fetchFromBot(`https://127.0.0.1:${api.port}/chain/${FETCH_MAX_REDIRECTS + 1}`);
    expect(refused).toEqual({ code: "E_FETCH_FAILED", message: `fetch from https://127.0.0.1:${api.port} failed: more than ${FETCH_MAX_REDIRECTS} redirects` });
  });

  it("an allowed origin that redirects to 127.0.0.1 is refused at the redirect", async () => {
    const before = internal.connections;
    const { reply } = await fetchFromBot(`https://127.0.0.1:${api.port}/to-internal`);
    expect(reply.code).toBe("E_FETCH_ORIGIN");
    expect(internal.connections).toBe(before);
  });

  it("an allowed hostname that resolves to 127.0.0.1 is refused at connect time", async () => {
    const before = internal.connections;
    const { reply } = await fetchFromBot(`https://rebind.test:${internal.port}/`, {
      allowOrigins: [`https://rebind.test:${internal.port}`],
      hosts: { "rebind.test": ["127.0.0.1"] },
    });
    expect(reply.code).toBe("E_FETCH_ADDRESS");
    expect(internal.connections).toBe(before);
  });

  it("a redirect to an allowed hostname that resolves to 127.0.0.1 is refused too", async () => {
    const before = internal.connections;
    const { reply } = await fetchFromBot(`https://127.0.0.1:${api.port}/to-rebind`, {
      allowOrigins: [`https://127.0.0.1:${api.port}`, `https://rebind.test:${internal.port}`],
      hosts: { "rebind.test": ["127.0.0.1"] },
    });
    expect(reply.code).toBe("E_FETCH_ADDRESS");
    expect(internal.connections).toBe(before);
  });

  it("the relay's unfiltered SMTP port 10025 is unreachable even when allowed", async () => {
    const { reply } = await fetchFromBot(`https://127.0.0.1:10025/`, { allowOrigins: ["https://127.0.0.1:10025"] });
    expect(reply.code).toBe("E_FETCH_ADDRESS");
  });

  it("a 100 MB response fails at the response cap without being buffered", async () => {
    const result = await executor.run(request(fetchBot(`https://127.0.0.1:${api.port}/huge`), { fetch: policy(), limits: { fetchResponseBytes: 10 * MiB } }));
    const reply = JSON.parse(messageAt(result)!.text) as { code: string };
    expect(reply.code).toBe("E_FETCH_TOO_LARGE");
    expect(bigStreamed).toBeLessThan(40 * MiB);
  });

  it("more fetches than fetchesPerEvent end the event with output-limit", async () => {
    const bundle = botWithMessageHandler(`for (let i = 0; i < 3; i++) await bot.fetch("https://127.0.0.1:${api.port}/hello");`);
    const atCap = await executor.run(request(bundle, { fetch: policy(), limits: { fetchesPerEvent: 3 } }));
    expect(atCap.status).toBe("ok");
    const over = await executor.run(request(bundle, { fetch: policy(), limits: { fetchesPerEvent: 2 } }));
    expect(over.status).toBe("output-limit");
    expect(over.limit?.name).toBe("fetchesPerEvent");
  });

  it("a fetch still pending at the wall budget ends the event with wall-limit", async () => {
    const hang = await startHttpsServer(() => undefined);
    try {
      const bundle = botWithMessageHandler(`await bot.fetch("https://127.0.0.1:${hang.port}/");`);
      const result = await executor.run(
        request(bundle, { fetch: policy({ allowOrigins: [`https://127.0.0.1:${hang.port}`] }), limits: { wallMsPerEvent: 500, fetchTimeoutMs: 10_000 } }),
      );
      expect(result.status).toBe("wall-limit");
      expect(result.wallMs).toBeLessThan(3000);
    } finally {
      await hang.close();
    }
  });
});
