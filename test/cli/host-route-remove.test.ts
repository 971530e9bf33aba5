// `chatbot host route` and `chatbot host remove`: the transport table the host keeps (host.json
// transportMap) follows installs and removals, printed for the operator; without transportMap
// the commands say what to set; a removed bot's folder is kept under DIR/removed.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { captureIo } from "../support/cli-io.js";
import { initHost } from "../support/host-fixture.js";
import { relayAvailable } from "../support/relay.js";

/** A host with the echo template built in ./echo, a password file, and host.json `extra`. */
async function host(extra: Record<string, unknown>) {
  const work = mkdtempSync(join(tmpdir(), "host-route-"));
  const data = await initHost(work, { postfixConfigDir: work, ...extra });
  const io = captureIo(work);
  expect(await runCli(["new", "echo", "--name", "echo"], io)).toBe(0);
  expect(await runCli(["build", "echo"], io)).toBe(0);
  writeFileSync(join(work, "pw"), "a-good-password\n");
  writeFileSync(join(work, "main.cf"), ""); // postmap -c needs a main.cf; this machine's Postfix has none in /etc/postfix
  const cli = async (...args: string[]) => {
    const out = captureIo(work);
    const code = await runCli([...args, "--data-dir", data], out);
    return { code, out: out.out, err: out.err };
  };
  return { work, data, cli };
}

describe("host route and host remove", () => {
  it("without host.json transportMap: host route says what to set; host remove tells the operator to edit their own table", async () => {
    const { cli } = await host({});
    const route = await cli("host", "route");
    expect(route.code).not.toBe(0);
    expect(route.err).toMatch(/host\.json has no "transportMap": routes are the operator's.*"transportMap": "\/var\/lib\/chatbot-routes\/transport"/);
    expect((await cli("host", "install", "echo@chat.test", "echo", "--password-file", "pw")).code).toBe(0);
    const removed = await cli("host", "remove", "echo@chat.test");
    expect(removed.code).toBe(0);
    expect(removed.out).toMatch(/take echo@chat\.test out of your Postfix transport table yourself/);
  });

  it.skipIf(!relayAvailable())("an install adds the bot's line, --dry-run and --json print it, host remove takes it out and keeps the folder", async () => {
    const { data, cli } = await host({ transportMap: join(mkdtempSync(join(tmpdir(), "host-route-table-")), "transport") });
    const table = (JSON.parse(readFileSync(join(data, "host.json"), "utf8")) as { transportMap: string }).transportMap;
    expect((await cli("host", "install", "echo@chat.test", "echo", "--password-file", "pw")).code).toBe(0);
    expect(readFileSync(table, "utf8")).toContain("echo@chat.test\tlmtp:unix:chatbot/lmtp.sock\n");
    expect(existsSync(`${table}.db`)).toBe(true);

    const dry = await cli("host", "route", "--dry-run");
    expect(dry.out).toContain("echo@chat.test\tlmtp:unix:chatbot/lmtp.sock");
    expect(dry.err).toMatch(/1 bot, not written \(--dry-run\)/);
    const again = await cli("host", "route", "--json");
    expect(JSON.parse(again.out)).toMatchObject({ file: table, bots: 1, changed: false, dryRun: false });

    const removed = await cli("host", "remove", "echo@chat.test");
    expect(removed.code).toBe(0);
    expect(removed.out).toMatch(/no longer routes echo@chat\.test/);
    expect(readFileSync(table, "utf8")).not.toContain("echo@chat.test");
    expect(readdirSync(join(data, "removed"))).toEqual([expect.stringMatching(/^echo@chat\.test\.\d{4}-/)]);
    expect(existsSync(join(data, "bots", "echo@chat.test"))).toBe(false);
  });

  it("host remove of an address that is not installed, or no address: a usage error that says what to give", async () => {
    const { cli } = await host({});
    expect((await cli("host", "remove", "ghost@chat.test")).err).toMatch(/no bot is installed at ghost@chat\.test/);
    expect((await cli("host", "remove")).err).toMatch(/give the bot's address/);
  });
});
