// The host keeps Postfix's bot routes itself (host.json transportMap, issue 13 part 3), on the
// test relay's real Postfix: after one `host route` and one main.cf line, an install routes the
// bot's mail to the host with no operator step (host setup's path unit reloads Postfix; here the
// test does what it does); while `host serve` is down the bot's
// mail waits (deferred, never bounced) and is handed over after the restart; `host remove` gives
// the address's mail back to its mailbox.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { captureIo } from "../support/cli-io.js";
import { until } from "../support/poll.js";
import { relayHostInitArgs } from "../support/relay-host-init.js";
import { relayAvailable, startRelay, submissionTransport, type TestRelay } from "../support/relay.js";
import { spawnServe, type ServeProcess } from "../support/serve-process.js";

const SENDER = "sender@chat.test";

describe.skipIf(!relayAvailable())("the host keeps Postfix's bot routes (transportMap) on a real relay", () => {
  let relay: TestRelay;
  let work: string;
  let data: string;
  let table: string;
  let serve: ServeProcess | undefined;
  const spooled: Array<{ bot: string; at: number }> = [];
  let send: (to: string, subject: string) => Promise<void>;
  const bot = "routed@chat.test";

  /** `chatbot host serve` as its own process, noting each mail it spools; resolves once it serves. */
  async function startServe(): Promise<void> {
    serve = spawnServe(data, [], (event) => {
      if (event.event === "lmtp.spooled") spooled.push({ bot: event.bot as string, at: Date.now() });
    });
    await serve.started();
  }

  async function stopServe(): Promise<void> {
    await serve!.stop();
    serve = undefined;
  }

  /**
   * What host setup's chatbot-routes.path unit does on a relay (no systemd here): `postfix reload`
   * once the table's .db changed. Without it the queue manager kept a removed bot's route 25 s to
   * over 60 s (its resolver's connection never idled 5 s under the test relay's 1–4 s retries);
   * a new bot's route was seen within ~0.5 s in every run, but the same resolver could miss it too.
   */
  function pathUnitReload(): void {
    expect(spawnSync("postfix", ["-c", join(relay.base, "server", "postfix"), "reload"]).status).toBe(0);
  }

  /** Postfix's delivery lines for `rcpt`. */
  async function deliveries(rcpt: string): Promise<string[]> {
    return (await relay.readLog("postfix")).split("\n").filter((line) => line.includes(`to=<${rcpt}>`) && line.includes("status="));
  }

  const cli = async (...args: string[]) => {
    const io = captureIo(work);
    const code = await runCli(args, io);
    expect(code, `chatbot ${args.join(" ")}: ${io.err}`).toBe(0);
    return io.out;
  };

  beforeAll(async () => {
    relay = await startRelay();
    work = mkdtempSync(join(tmpdir(), "host-routing-"));
    chmodSync(work, 0o755); // Postfix reaches the LMTP socket and reads the table in here
    data = join(work, "data");
    const routes = join(work, "routes");
    mkdirSync(routes, { mode: 0o755 });
    table = join(routes, "transport");
    await cli(...relayHostInitArgs(relay, data, join(work, "lmtp.sock")));
    const configFile = join(data, "host.json");
    const config = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
    writeFileSync(configFile, JSON.stringify({ ...config, transportMap: table, postfixConfigDir: join(relay.base, "server", "postfix") }));
    // The operator's two steps, once: the (empty) table, then main.cf pointing at it.
    expect(await cli("host", "route", "--data-dir", data)).not.toContain(bot);
    await relay.useHostTransportMap(table);

    await relay.addUser(SENDER, "sender-password");
    await relay.addUser(bot, "routed-bot-password");
    const transport = submissionTransport(relay, SENDER, "sender-password");
    send = async (to, subject) => {
      await transport.sendMail({ from: SENDER, to, subject, text: subject });
    };
    await cli("new", "echo", "--name", "echo");
    await cli("build", "echo");
    writeFileSync(join(work, "pw"), "routed-bot-password");
    await startServe();
  }, 120_000);

  afterAll(async () => {
    serve?.child.kill("SIGKILL");
    await relay?.stop();
  });

  it("an install routes the bot's mail to the host at once, with no operator step", async () => {
    const before = spooled.length;
    const installedAt = Date.now();
    await cli("host", "install", bot, "echo", "--password-file", "pw", "--data-dir", data);
    expect(readFileSync(table, "utf8")).toContain(`${bot}\tlmtp:unix:${join(work, "lmtp.sock")}\n`);
    pathUnitReload();
    await send(bot, "first");
    await until(() => spooled.slice(before).some((s) => s.bot === bot), "the bot's mail at the host's LMTP door", 30_000);
    // No mail went to the mailbox.
    expect(existsSync(join(relay.maildir(bot), "new")) ? readdirSync(join(relay.maildir(bot), "new")) : []).toEqual([]);
    console.log(`host routing: install → mail at the host ${spooled.at(-1)!.at - installedAt} ms`);
  });

  it("host doctor checks the routes end to end (table, .db, Postfix's transport_maps, Postfix's lookup of each bot) and names the fix", async () => {
    const doctor = async () => {
      const io = captureIo(work);
      await runCli(["host", "doctor", "--json", "--data-dir", data], io);
      return (
        JSON.parse(io.out) as {
          routes: {
            file: string;
            bots: number;
            probe: { bot: string; ms: number | null } | null;
            problems: Array<{ what: string; fix: string }>;
            hints: Array<{ what: string; fix: string }>;
          };
        }
      ).routes;
    };
    // End to end too: a probe mail from the bot to itself came back through Postfix to the host's door.
    const first = await doctor();
    expect(first).toMatchObject({ file: table, bots: 1, problems: [], probe: { bot } });
    expect(first.probe!.ms).toBeGreaterThan(0);
    // This relay's Postfix opens a connection per mail to the door: a hint (not a problem), whose fix line works.
    const cacheEntry = `inline:{${join(work, "lmtp.sock").toLowerCase()}=yes}`;
    expect(first.hints).toEqual([
      {
        what: expect.stringMatching(/^Postfix opens a new LMTP connection to the host for each mail .*lmtp_connection_cache_destinations/),
        fix: `postconf -e 'lmtp_connection_cache_destinations = ${cacheEntry}' && postfix reload`,
      },
    ]);
    execFileSync("postconf", ["-c", join(relay.base, "server", "postfix"), "-e", `lmtp_connection_cache_destinations = ${cacheEntry}`]);
    try {
      expect((await doctor()).hints).toEqual([]);
    } finally {
      execFileSync("postconf", ["-c", join(relay.base, "server", "postfix"), "-e", "lmtp_connection_cache_destinations ="]);
    }
    // A hand edit: the table no longer says what the host would write.
    writeFileSync(table, `${readFileSync(table, "utf8")}stranger@chat.test\tsmtp:[elsewhere.example]\n`);
    expect((await doctor()).problems).toEqual([
      { what: `the table ${table} does not list exactly the 1 installed bots`, fix: `chatbot host route --data-dir ${data}` },
    ]);
    await cli("host", "route", "--data-dir", data);
    expect((await doctor()).problems).toEqual([]);
    // Postfix not reading the table: the fix is the postconf line.
    const postfix = join(relay.base, "server", "postfix");
    const used = execFileSync("postconf", ["-c", postfix, "-h", "transport_maps"], { encoding: "utf8" }).trim();
    execFileSync("postconf", ["-c", postfix, "-e", `transport_maps = texthash:${join(postfix, "transport")}`]);
    try {
      expect((await doctor()).problems).toEqual([
        {
          what: `Postfix's transport_maps (texthash:${join(postfix, "transport")}) does not read the table`,
          fix: `postconf -e 'transport_maps = hash:${table}, texthash:${join(postfix, "transport")}' && postfix reload`,
        },
      ]);
    } finally {
      execFileSync("postconf", ["-c", postfix, "-e", `transport_maps = ${used}`]);
    }
    expect((await doctor()).problems).toEqual([]);
  });

  it("while host serve is down the bot's mail is deferred, never bounced, and reaches the host after the restart", async () => {
    await stopServe();
    const before = spooled.length;
    await send(bot, "while down");
    await until(async () => (await deliveries(bot)).some((line) => line.includes("status=deferred")), "Postfix deferring the bot's mail", 30_000);
    await startServe();
    const flusher = setInterval(() => void relay.flushQueue(), 2000);
    try {
      await until(() => spooled.slice(before).some((s) => s.bot === bot), "the deferred mail at the restarted host", 60_000);
    } finally {
      clearInterval(flusher);
    }
    expect((await deliveries(bot)).filter((line) => line.includes("status=bounced"))).toEqual([]);
    expect(existsSync(join(relay.maildir(bot), "new")) ? readdirSync(join(relay.maildir(bot), "new")) : []).toEqual([]);
  });

  it("host remove takes the bot off the table: its address's mail lands in its mailbox again, none bounced", { timeout: 120_000 }, async () => {
    const out = await cli("host", "remove", bot, "--data-dir", data);
    pathUnitReload();
    expect(out).toMatch(/no longer routes routed@chat\.test/);
    expect(readFileSync(table, "utf8")).not.toContain(bot);
    const before = spooled.length;
    const sentAt = Date.now();
    await send(bot, "after remove");
    // No flush: Postfix's own retries (the test relay's queue run every 1 s, backoff 1–4 s). A mail
    // deferred by the door before Postfix re-read its table is resolved anew when it comes back
    // from the deferred queue; flushing every 2 s kept it in the active queue on the old route.
    await until(
      () => existsSync(join(relay.maildir(bot), "new")) && readdirSync(join(relay.maildir(bot), "new")).length > 0,
      "the mail in the account's mailbox",
      60_000,
    );
    console.log(`host routing: remove → mail in the mailbox ${Date.now() - sentAt} ms after it was sent`);
    expect(spooled.slice(before).filter((s) => s.bot === bot)).toEqual([]);
    expect((await deliveries(bot)).filter((line) => line.includes("status=bounced"))).toEqual([]);
    expect(readdirSync(join(data, "removed"))).toEqual([expect.stringMatching(/^routed@chat\.test\./)]);
  });
});
