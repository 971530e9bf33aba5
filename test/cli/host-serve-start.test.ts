// `host init` and the start of `host serve` as an operator meets them: the data directory made
// private even when it exists, one serve per data directory, and a serve that cannot start
// returning its reason instead of running half-started. (The same with real processes, a real
// unprivileged user and Postfix: test/e2e/operator-recipe.test.ts.)
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { lockDataDir, type DataDirLock } from "../../host/service/data-dir-lock.js";
import { DEFAULT_LMTP_SOCKET } from "../../host/service/paths.js";
import { Spool } from "../../host/spool/spool.js";
import { captureIo } from "../support/cli-io.js";
import { spawnServe } from "../support/serve-process.js";

const held: DataDirLock[] = [];
afterEach(() => {
  for (const lock of held.splice(0)) lock.release();
});

function work(): string {
  return mkdtempSync(join(tmpdir(), "host-serve-start-"));
}

describe("host init and the start of host serve", () => {
  it("host init makes an existing data directory 0700 (adduser --system made it 0755), its spool, bots and logs too", async () => {
    const dir = work();
    const data = join(dir, "home");
    mkdirSync(join(data, "logs"), { recursive: true, mode: 0o755 });
    chmodSync(data, 0o755);
    chmodSync(join(data, "logs"), 0o755);
    const io = captureIo(dir);
    expect(await runCli(["host", "init", "--data-dir", data], io), io.err).toBe(0);
    for (const folder of [data, join(data, "spool"), join(data, "bots"), join(data, "logs")]) expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(io.out).toContain(`lmtp    ${DEFAULT_LMTP_SOCKET}`);
  });

  it("host serve --once beside a running serve exits 70 naming the holder's pid, and drains nothing", async () => {
    const dir = work();
    const data = join(dir, "data");
    const io = captureIo(dir);
    expect(await runCli(["host", "init", "--data-dir", data], io)).toBe(0);
    const spool = new Spool(join(data, "spool"), { now: () => Date.now() });
    await spool.write("bot@chat.test", new TextEncoder().encode("Subject: x\r\n\r\nx\r\n"), 1000);
    held.push(await lockDataDir(data)); // the running serve (this process)
    const second = captureIo(dir);
    expect(await runCli(["host", "serve", "--once", "--data-dir", data], second)).toBe(70);
    expect(second.err).toMatch(new RegExp(`^error E_CONFIG: another 'chatbot host serve' holds ${join(data, "serve.lock")} \\(pid ${process.pid}, `));
    expect(second.out).not.toContain('"event":"service.drained"');
    expect(await spool.all()).toHaveLength(1);
    expect(existsSync(join(data, "metrics.prom"))).toBe(false); // the holder's metrics are not overwritten
    held.splice(0).forEach((lock) => lock.release());
    expect(await runCli(["host", "serve", "--once", "--data-dir", data], captureIo(dir))).toBe(0);
  });

  it("host serve whose LMTP socket folder is missing returns 70 with the reason and the fix, releases its lock and leaves no socket", async () => {
    const dir = work();
    const data = join(dir, "data");
    const socket = join(dir, "missing", "lmtp.sock");
    expect(await runCli(["host", "init", "--data-dir", data, "--lmtp-socket", socket], captureIo(dir))).toBe(0);
    const io = captureIo(dir);
    expect(await runCli(["host", "serve", "--data-dir", data], io)).toBe(70);
    expect(io.err).toContain(`cannot listen for LMTP on ${socket}: the folder ${join(dir, "missing")} does not exist; as root: install -d -o`);
    expect(io.out).toContain('"event":"service.failed"');
    expect(io.out).not.toContain('"event":"service.started"');
    expect(readdirSync(dir).sort()).toEqual(["data"]);
    held.push(await lockDataDir(data)); // released: the next start may take it
  });

  it("host serve with a deploy inbox open to every user serves anyway: it logs the refusal with the fix, and its LMTP door is open", {
    timeout: 60_000,
  }, async () => {
    const dir = work();
    const data = join(dir, "data");
    const inbox = join(dir, "deploy-inbox");
    mkdirSync(inbox);
    chmodSync(inbox, 0o777);
    const socket = join(dir, "lmtp.sock");
    expect(await runCli(["host", "init", "--data-dir", data, "--lmtp-socket", socket], captureIo(dir))).toBe(0);
    const hostJson = join(data, "host.json");
    writeFileSync(hostJson, JSON.stringify({ ...JSON.parse(readFileSync(hostJson, "utf8")), deployInbox: inbox }));
    const serve = spawnServe(data);
    try {
      await serve.started();
      expect(serve.events).toContainEqual(
        expect.objectContaining({
          event: "deploy.error",
          error: expect.stringMatching(
            /deployInbox: .* is open to every user \(mode 777\); as root: install -d .*; deploys are found by the poll of installed bots only, tried again every 60 s/,
          ),
        }),
      );
      expect(existsSync(socket)).toBe(true);
      expect(serve.child.exitCode).toBeNull();
    } finally {
      await serve.stop();
    }
  });
});
