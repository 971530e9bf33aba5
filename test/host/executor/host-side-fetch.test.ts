// Issue 12, part 1: bot.fetch is performed by the host process, not by the runner that hosts the
// sandbox. Shown two ways: the host's injected undici Dispatcher (a MockAgent the runner cannot
// see) answers the guest, and the socket of a real fetch is found among the host's file
// descriptors, never the runner's. The policy, the caps and the wall budget hold on the host side.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { MockAgent } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import type { FetchPolicy, RunResult } from "../../../host/executor/run-types.js";
import { botWithMessageHandler, messageAt, request } from "../../support/sandbox.js";

const API = "https://api.example.org";
let mock: MockAgent;
let mocked: Executor;
let real: Executor;
let server: Server;
let port = 0;
/** Told when a request to /hang arrives (expectHang). */
let hangArrived: () => void = () => undefined;
/** Who owned the client end of each request's socket: "host", "runner" or "nobody found". */
const owners: string[] = [];

/** The inode of the TCP socket whose local port is `localPort` and remote port `remotePort` (/proc/net/tcp, tcp6). */
function socketInode(localPort: number, remotePort: number): string | undefined {
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = Number.parseInt(fields[1]?.split(":")[1] ?? "", 16);
      const remote = Number.parseInt(fields[2]?.split(":")[1] ?? "", 16);
      if (local === localPort && remote === remotePort) return fields[9];
    }
  }
  return undefined;
}

/** Whether process `pid` holds the socket with `inode` among its file descriptors. */
function holdsSocket(pid: number, inode: string): boolean {
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

beforeAll(async () => {
  mock = new MockAgent();
  mock.disableNetConnect();
  mocked = new Executor({ fetchDispatcher: mock });
  real = new Executor();
  server = createServer((req, res) => {
    const inode = socketInode(req.socket.remotePort ?? -1, port);
    const [runnerPid] = real.runnerPids();
    owners.push(
      inode === undefined ? "nobody found" : holdsSocket(process.pid, inode) ? "host" : runnerPid && holdsSocket(runnerPid, inode) ? "runner" : "nobody found",
    );
    if (req.url === "/hang") {
      // Never answers: only the client can end this request.
      hangArrived();
      return;
    }
    res.end("answered");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  await Promise.all([mocked.warmUp(), real.warmUp()]);
});
afterEach(() => {
  owners.length = 0;
});
afterAll(async () => {
  await Promise.all([mocked.close(), real.close()]);
  await mock.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const realPolicy = (): FetchPolicy => ({ allowOrigins: [`http://127.0.0.1:${port}`], allowHttpLoopback: true });

/** Expect a request to /hang: resolves `arrived` when it comes, `closed` when its client closes the socket. */
function expectHang(): { arrived: Promise<void>; closed: Promise<void> } {
  const arrived = new Promise<void>((resolve) => (hangArrived = resolve));
  const closed = new Promise<void>((resolve) => {
    server.once("request", (req: { socket: Socket }) => req.socket.once("close", () => resolve()));
  });
  return { arrived, closed };
}

/** A bot that fetches `url` and replies "status body" or the refusal's code. */
const fetchBot = (url: string) =>
  botWithMessageHandler(`
    try {
      const res = await bot.fetch(${JSON.stringify(url)});
      await bot.reply(res.status + " " + (await res.text()));
    } catch (e) {
      await bot.reply("refused " + e.code);
    }`);

const replyOf = (result: RunResult) => {
  expect(result.status, result.error?.message).toBe("ok");
  return messageAt(result)?.text;
};

describe("bot.fetch is performed by the host process (issue 12)", () => {
  it("the guest's fetch is answered by the host's injected Dispatcher (a MockAgent the runner cannot see)", async () => {
    mock
      .get(API)
      .intercept({ path: "/data", method: "GET" })
      .reply(200, "from the host", { headers: { "content-type": "text/plain" } });
    const result = await mocked.run(request(fetchBot(`${API}/data`), { fetch: { allowOrigins: [API], allowHttpLoopback: false } }));
    expect(replyOf(result)).toBe("200 from the host");
    expect(result.fetch.count).toBe(1);
    mock.assertNoPendingInterceptors();
  });

  it("the socket of a real fetch belongs to the host process, never the runner", async () => {
    const result = await real.run(request(fetchBot(`http://127.0.0.1:${port}/owner`), { fetch: realPolicy() }));
    expect(replyOf(result)).toBe("200 answered");
    expect(owners).toEqual(["host"]);
  });

  it("a redirect to 127.0.0.1 is still refused on the host side (the hop is checked against the allowlist)", async () => {
    mock
      .get(API)
      .intercept({ path: "/to-loopback", method: "GET" })
      .reply(302, "", { headers: { location: "https://127.0.0.1/admin" } });
    const result = await mocked.run(request(fetchBot(`${API}/to-loopback`), { fetch: { allowOrigins: [API], allowHttpLoopback: false } }));
    expect(replyOf(result)).toBe("refused E_FETCH_ORIGIN");
    mock.assertNoPendingInterceptors();
  });

  it("a body at the cap crosses to the guest, one byte over is cut on the host (E_FETCH_TOO_LARGE)", async () => {
    const cap = 4096;
    const policy = { allowOrigins: [API], allowHttpLoopback: false };
    mock.get(API).intercept({ path: "/at-cap" }).reply(200, "x".repeat(cap));
    mock
      .get(API)
      .intercept({ path: "/over-cap" })
      .reply(200, "x".repeat(cap + 1));
    const at = await mocked.run(request(fetchBot(`${API}/at-cap`), { fetch: policy, limits: { fetchResponseBytes: cap } }));
    expect(replyOf(at)).toBe(`200 ${"x".repeat(cap)}`);
    const over = await mocked.run(request(fetchBot(`${API}/over-cap`), { fetch: policy, limits: { fetchResponseBytes: cap } }));
    expect(replyOf(over)).toBe("refused E_FETCH_TOO_LARGE");
  });

  it("the event's wall budget ends a hanging fetch, costs the guest no CPU, and the host closes the socket", async () => {
    const hang = expectHang();
    const result = await real.run(
      request(fetchBot(`http://127.0.0.1:${port}/hang`), { fetch: realPolicy(), limits: { wallMsPerEvent: 300, cpuMsPerEvent: 50 } }),
    );
    // A pending fetch is waited for outside the guest's metered slices: the wall budget ends it, not the CPU budget.
    expect(result.status).toBe("wall-limit");
    expect(result.cpuMs).toBeLessThan(50);
    await hang.closed;
    expect(owners).toEqual(["host"]);
  });

  it("a runner that dies while its fetch hangs makes the host abort the request", async () => {
    const hang = expectHang();
    const running = real.run(request(fetchBot(`http://127.0.0.1:${port}/hang`), { fetch: realPolicy() }));
    await hang.arrived;
    const [pid] = real.runnerPids();
    process.kill(pid!, "SIGKILL");
    await expect(running).rejects.toMatchObject({ code: "E_RUNNER" });
    await hang.closed;
  });
});
