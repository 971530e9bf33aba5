// Fetch replay (HostFetchSettings.recorded, used by chatbot/testing) through the whole sandbox: answers
// come from the recordings and nothing reaches the network, not even an allowed, listening origin;
// the allowlist and request checks refuse with the same codes as a real fetch.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import type { FetchPolicy, RecordedFetch } from "../../../host/executor/run-types.js";
import { FETCH_MAX_REDIRECTS } from "../../../core/limits.js";
import { botWithMessageHandler, messageAt, request } from "../../support/sandbox.js";
import { TEST_TLS, startHttpsServer, type TestServer } from "../../support/test-servers.js";

let executor: Executor;
let server: TestServer; // allowed and listening: replay must still never connect to it
let origin: string;

beforeAll(async () => {
  executor = new Executor();
  server = await startHttpsServer((_req, res) => res.end("from the network"));
  origin = `https://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await executor.close();
  await server.close();
});

const recording = (url: string, body: string, extra: Partial<RecordedFetch> = {}): RecordedFetch => ({
  url,
  status: 200,
  headers: { "content-type": "text/plain" },
  bodyBase64: Buffer.from(body).toString("base64"),
  ...extra,
});

async function fetchInReplay(url: string, recorded: RecordedFetch[], extra: Partial<FetchPolicy> = {}, init = "{}") {
  const bundle = botWithMessageHandler(`
    try {
      const res = await bot.fetch(${JSON.stringify(url)}, ${init});
      await bot.reply(JSON.stringify({ status: res.status, url: res.url, redirected: res.redirected, type: res.headers.get("content-type"), body: await res.text() }));
    } catch (e) {
      await bot.reply(JSON.stringify({ code: e.code, message: e.message }));
    }`);
  const policy: FetchPolicy = { allowOrigins: [origin], allowHttpLoopback: false, ...extra };
  const result = await executor.run(request(bundle, { fetch: policy }), { caPem: TEST_TLS.ca, recorded });
  expect(result.status).toBe("ok");
  return { reply: JSON.parse(messageAt(result)!.text) as Record<string, unknown>, result };
}

describe("sandbox fetch replay", () => {
  it("a recorded URL is answered from the recording, and the server is never contacted", async () => {
    const before = server.connections;
    const { reply, result } = await fetchInReplay(`${origin}/data?x=1`, [recording(`${origin}/data?x=1`, "recorded")]);
    expect(reply).toEqual({ status: 200, url: `${origin}/data?x=1`, redirected: false, type: "text/plain", body: "recorded" });
    expect(result.fetchedUrls).toEqual([`${origin}/data?x=1`]);
    expect(server.connections).toBe(before);
  });

  it("an unrecorded URL of an allowed, listening origin fails with E_FETCH_FAILED naming the URL and bot.fetch.on", async () => {
    const before = server.connections;
    const { reply } = await fetchInReplay(`${origin}/other`, [recording(`${origin}/data`, "recorded")]);
    expect(reply.code).toBe("E_FETCH_FAILED");
    expect(reply.message).toContain(`${origin}/other`);
    expect(reply.message).toContain("bot.fetch.on(");
    expect(server.connections).toBe(before);
  });

  it("a recorded URL of an origin that is not allowed is refused with E_FETCH_ORIGIN, as in production", async () => {
    const { reply, result } = await fetchInReplay("https://elsewhere.example/x", [recording("https://elsewhere.example/x", "never")]);
    expect(reply.code).toBe("E_FETCH_ORIGIN");
    expect(result.fetchedUrls).toEqual(["https://elsewhere.example/x"]);
  });

  it("http, mail ports and bad methods are refused with the production codes", async () => {
    expect((await fetchInReplay("http://example.org/", [])).reply.code).toBe("E_FETCH_SCHEME");
    expect((await fetchInReplay("https://example.org:25/", [])).reply.code).toBe("E_FETCH_ADDRESS");
    expect((await fetchInReplay(`${origin}/`, [], {}, `{ method: "CONNECT" }`)).reply.code).toBe("E_FETCH_REQUEST");
  });

  it("a recorded redirect is followed, and its target must be allowed too", async () => {
    const redirect = (to: string) => recording(`${origin}/old`, "", { status: 302, headers: { location: to } });
    const followed = await fetchInReplay(`${origin}/old`, [redirect("/new"), recording(`${origin}/new`, "moved here")]);
    expect(followed.reply).toMatchObject({ status: 200, url: `${origin}/new`, redirected: true, body: "moved here" });
    const refused = await fetchInReplay(`${origin}/old`, [redirect("https://evil.example/"), recording("https://evil.example/", "x")]);
    expect(refused.reply.code).toBe("E_FETCH_ORIGIN");
  });

  it(`a chain of exactly FETCH_MAX_REDIRECTS (${FETCH_MAX_REDIRECTS}) recorded redirects is followed; one more fails`, async () => {
    // /chain/n redirects to /chain/n-1; /chain/0 answers.
    const chain = (hops: number) => [
      ...Array.from({ length: hops }, (_, i) => recording(`${origin}/chain/${i + 1}`, "", { status: 302, headers: { location: `/chain/${i}` } })),
      recording(`${origin}/chain/0`, "end of chain"),
    ];
    const followed = await fetchInReplay(`${origin}/chain/${FETCH_MAX_REDIRECTS}`, chain(FETCH_MAX_REDIRECTS));
    expect(followed.reply).toMatchObject({ status: 200, url: `${origin}/chain/0`, redirected: true, body: "end of chain" });
    const refused = await fetchInReplay(`${origin}/chain/${FETCH_MAX_REDIRECTS + 1}`, chain(FETCH_MAX_REDIRECTS + 1));
    expect(refused.reply).toEqual({ code: "E_FETCH_FAILED", message: `fetch from ${origin} failed: more than ${FETCH_MAX_REDIRECTS} redirects` });
  });

  it("a recorded body over fetchResponseBytes fails with E_FETCH_TOO_LARGE; exactly at the cap passes", async () => {
    const readSize = botWithMessageHandler(`
      try { await bot.reply(String((await (await bot.fetch(${JSON.stringify(`${origin}/big`)})).bytes()).length)); }
      catch (e) { await bot.reply(e.code); }`);
    const runWithBody = async (bytes: number) => {
      const fetch: FetchPolicy = { allowOrigins: [origin], allowHttpLoopback: false };
      const recorded = [recording(`${origin}/big`, "x".repeat(bytes))];
      return messageAt(await executor.run(request(readSize, { fetch, limits: { fetchResponseBytes: 1000 } }), { recorded }))!.text;
    };
    expect(await runWithBody(1000)).toBe("1000");
    expect(await runWithBody(1001)).toBe("E_FETCH_TOO_LARGE");
  });
});
