// The host's two ingress doors behind the REAL Postfix of the test relay: pipe(8) running the
// bundled `chatbot host deliver` (lib/deliver.cjs) as the unprivileged `chatbot` user, and Postfix's lmtp(8) client
// talking to the host's LMTP socket. Needs root, `make relay-deps` and `make build` (lib/).
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLmtpServer, type LmtpServer } from "../../host/service/lmtp-server.js";
import { hostPaths, isInstalledBot } from "../../host/service/paths.js";
import { lmtpCacheEntry } from "../../host/setup/lmtp-cache.js";
import { Spool } from "../../host/spool/spool.js";
import { relayAvailable, startRelay, submissionTransport, type TestRelay } from "../support/relay.js";
import { until } from "../support/poll.js";

/** `host deliver` bundled into one file: what the README's master.cf line runs. */
const DELIVER = fileURLToPath(new URL("../../lib/deliver.cjs", import.meta.url));
const SENDER = "sender@chat.test";
const clock = { now: () => Date.now() };

/** The uid/gid of a system user or group from /etc/passwd or /etc/group. */
function idOf(file: "/etc/passwd" | "/etc/group", name: string): number {
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no ${name} in ${file}`);
  return Number(line.split(":")[2]);
}

/** A host data directory with the given bots installed, owned by `owner` (the pipe user) when given. */
function dataDir(bots: string[], owner?: { uid: number; gid: number }): string {
  const dir = mkdtempSync(join(tmpdir(), "ingress-"));
  for (const bot of bots) {
    mkdirSync(hostPaths(dir).bot(bot).dir, { recursive: true });
    writeFileSync(hostPaths(dir).bot(bot).config, "{}");
  }
  if (owner) {
    const paths = [dir, join(dir, "bots"), ...bots.flatMap((bot) => [hostPaths(dir).bot(bot).dir, hostPaths(dir).bot(bot).config])];
    for (const path of paths) chownSync(path, owner.uid, owner.gid);
  }
  return dir;
}

/** The postfix.log lines about deliveries to `rcpt` (one per attempt). */
async function deliveryLines(relay: TestRelay, rcpt: string): Promise<string[]> {
  return (await relay.readLog("postfix")).split("\n").filter((line) => line.includes(`to=<${rcpt}>`) && line.includes("status="));
}

/** Wait for a delivery log line about `rcpt` matching `pattern`. */
function logged(relay: TestRelay, rcpt: string, pattern: RegExp, what: string): Promise<string> {
  return until(async () => (await deliveryLines(relay, rcpt)).find((line) => pattern.test(line)), what, 15_000);
}

describe.skipIf(!relayAvailable())("host ingress through the real Postfix of the test relay", () => {
  let relay: TestRelay;
  let send: (to: string[], subject: string) => Promise<string>;
  const pipeUser = { uid: 0, gid: 0 };

  beforeAll(async () => {
    relay = await startRelay();
    pipeUser.uid = idOf("/etc/passwd", "chatbot"); // created by the relay's setup.sh
    pipeUser.gid = idOf("/etc/group", "chatbot");
    await relay.addUser(SENDER, "sender-password");
    const transport = submissionTransport(relay, SENDER, "sender-password");
    send = async (to, subject) => {
      const messageId = `<ingress-${Date.now()}-${Math.random().toString(16).slice(2)}@chat.test>`;
      const raw = [
        `From: ${SENDER}`,
        `To: ${to.join(", ")}`,
        `Subject: ${subject}`,
        `Message-ID: ${messageId}`,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "hello bot",
        "",
      ].join("\r\n");
      await transport.sendMail({ envelope: { from: SENDER, to }, raw });
      return messageId;
    };
  });

  afterAll(async () => {
    await relay?.stop();
  });

  it("pipe door: a mail sent over submission lands in the spool exactly once, and Postfix logs status=sent", async () => {
    const bot = "pipe-bot@chat.test";
    const dir = dataDir([bot], pipeUser);
    await relay.routeToHost(bot, [process.execPath, DELIVER, "--data-dir", dir]);
    const messageId = await send([bot], "via pipe");

    const line = await logged(relay, bot, /status=(sent|deferred|bounced)/, "the pipe delivery");
    expect(line).toMatch(/relay=chatbot-[0-9a-f]+, .*status=sent/);
    const spool = new Spool(hostPaths(dir).spool, clock);
    const entries = await spool.all();
    expect(entries).toHaveLength(1);
    expect(entries[0]!.recipient).toBe(bot);
    const mail = Buffer.from(await spool.read(entries[0]!)).toString("utf8");
    // pipe(8) flag R prepends Return-Path; the rest is the message as Postfix queued it (LF ends).
    expect(mail).toMatch(/^Return-Path: <sender@chat\.test>\n/);
    expect(mail).toContain(`Message-ID: ${messageId}\n`);
    expect(mail).toMatch(/\n\nhello bot\n$/);
    expect(await deliveryLines(relay, bot)).toHaveLength(1); // one attempt, one delivery
  });

  it("pipe door: exit 75 while the spool is not writable makes Postfix defer the mail; after the fix `postqueue -f` delivers it", async () => {
    const bot = "retry-bot@chat.test";
    const dir = dataDir([bot], pipeUser);
    mkdirSync(hostPaths(dir).spool);
    chownSync(hostPaths(dir).spool, pipeUser.uid, pipeUser.gid);
    chmodSync(hostPaths(dir).spool, 0o000); // the chatbot user can no longer write it
    await relay.routeToHost(bot, [process.execPath, DELIVER, "--data-dir", dir]);
    await send([bot], "while broken");

    const deferred = await logged(relay, bot, /status=deferred/, "Postfix to defer the mail");
    // Postfix puts the command's stderr line into its log (and into a bounce, were it permanent).
    expect(deferred).toMatch(/status=deferred \(temporary failure\. Command output: chatbot host deliver: cannot spool the mail, try again later: EACCES/);
    const spool = new Spool(hostPaths(dir).spool, clock);

    chmodSync(hostPaths(dir).spool, 0o700);
    expect(await spool.all()).toEqual([]);
    await relay.flushQueue();
    await logged(relay, bot, /status=sent/, "the retried delivery");
    expect((await spool.all()).map((e) => e.recipient)).toEqual([bot]);
  });

  describe("LMTP door", () => {
    let lmtp: LmtpServer;
    let startDoor: () => Promise<LmtpServer>;
    let dir: string;
    let socketPath: string;
    const bot = "lmtp-bot@chat.test";

    beforeAll(async () => {
      dir = dataDir([bot]);
      // Postfix's lmtp(8) client runs as postfix: give it the socket's group and a way through the folders.
      const postfixGid = idOf("/etc/group", "postfix");
      // Upper case in the path: Postfix lower-cases the socket path it looks up in lmtp_connection_cache_destinations.
      const socketDir = join(dir, "Run");
      mkdirSync(socketDir);
      chownSync(socketDir, 0, postfixGid);
      chmodSync(socketDir, 0o750);
      chmodSync(dir, 0o711);
      socketPath = join(socketDir, "lmtp.sock");
      startDoor = () =>
        startLmtpServer({
          socketPath,
          spool: new Spool(hostPaths(dir).spool, clock),
          isBot: (addr) => isInstalledBot(dir, addr),
          maxBytes: 31_457_280,
          log: () => {},
          socketGroup: postfixGid,
        });
      lmtp = await startDoor();
    });

    afterAll(async () => {
      await lmtp?.close();
    });

    it("LMTP door: Postfix delivers over lmtp:unix:<socket>, the mail lands in the spool, the log shows relay=…status=sent; an address the door does not know is deferred with 450 (retried, never bounced: a removed bot's mail goes to its mailbox once Postfix's table says so)", async () => {
      const ghost = "ghost@chat.test";
      await relay.routeToLmtp(bot, socketPath);
      await relay.routeToLmtp(ghost, socketPath);
      const messageId = await send([bot, ghost], "via lmtp");

      const sent = await logged(relay, bot, /status=(sent|deferred|bounced)/, "the LMTP delivery");
      expect(sent).toMatch(
        new RegExp(`relay=[^,\\[]*\\[${socketPath.replace(/[./]/g, "\\$&")}\\].*status=sent \\(250 2\\.6\\.0 \\d+-\\d+-[0-9a-f]{12} spooled\\)`),
      );
      const entries = await new Spool(hostPaths(dir).spool, clock).all();
      expect(entries.map((e) => e.recipient)).toEqual([bot]);
      const mail = Buffer.from(await new Spool(hostPaths(dir).spool, clock).read(entries[0]!)).toString("utf8");
      expect(mail).toContain(`Message-ID: ${messageId}\r\n`); // LMTP carries CRLF line ends

      const deferred = await logged(relay, ghost, /status=(sent|deferred|bounced)/, "the unknown address's deferral");
      expect(deferred).toMatch(/status=deferred \(host .*said: 450 4\.\d\.\d <ghost@chat\.test>: not a bot on this host now/);
    });

    it("with host setup's lmtp_connection_cache_destinations entry, Postfix keeps its connection to the door between mails (conn_use=N in its log; a stopping door ends it at once and the next mail takes a new one); without it, one connection per mail", async () => {
      await relay.routeToLmtp(bot, socketPath);
      // The first test's ghost mail is deferred and retried every 1–4 s (the relay's backoff): a retry
      // that holds the cached connection when a mail comes makes Postfix open a second one (CI saw
      // it). This test is about the bot's own mails: no retries beside them.
      await relay.dropQueue();
      /** Send one mail and wait for its delivery line: the n-th delivery to the bot. */
      const deliver = async (subject: string): Promise<string> => {
        const before = (await deliveryLines(relay, bot)).length;
        await send([bot], subject);
        return until(async () => (await deliveryLines(relay, bot))[before], `the delivery of "${subject}"`, 15_000);
      };
      const uncached = [await deliver("uncached 1"), await deliver("uncached 2")];
      for (const line of uncached) expect(line).toMatch(/status=sent/);
      expect(uncached.filter((line) => /conn_use=/.test(line))).toEqual([]);

      const entry = lmtpCacheEntry(`lmtp:unix:${socketPath}`);
      expect(entry).toBe(`inline:{${socketPath.toLowerCase()}=yes}`);
      // 10 s instead of Postfix's 2 s: a loaded machine can take longer than 2 s between one delivery and
      // the next (submission, queue manager), and this is about the entry, not about the time limit.
      await relay.postconf([`lmtp_connection_cache_destinations = ${entry}`, "lmtp_connection_cache_time_limit = 10s", "connection_cache_ttl_limit = 10s"]);
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // the reload's new lmtp(8) processes
      const cached = [await deliver("cached 1"), await deliver("cached 2"), await deliver("cached 3")];
      for (const line of cached) expect(line).toMatch(/status=sent \(250 2\.6\.0 .* spooled\)/);
      // Mail a few hundred ms apart, within lmtp_connection_cache_time_limit: the later ones reuse the
      // first one's connection.
      for (const line of cached.slice(1)) expect(Number(/conn_use=(\d+)/.exec(line)?.[1] ?? 1), line).toBeGreaterThanOrEqual(2);

      // A door that stops ends Postfix's idle cached session at once (421), instead of waiting up to
      // 2 s for Postfix to drop it; Postfix's RSET probe then finds it gone and opens a new one to
      // the restarted door: the next mail goes through at once, not deferred.
      const stopping = lmtp.close();
      expect(await Promise.race([stopping.then(() => "closed"), new Promise((resolve) => setTimeout(resolve, 1_000, "still open"))])).toBe("closed");
      lmtp = await startDoor();
      expect(await deliver("after a restart")).toMatch(/status=sent \(250 2\.6\.0 .* spooled\)/);
      await relay.postconf(["lmtp_connection_cache_destinations =", "lmtp_connection_cache_time_limit = 2s", "connection_cache_ttl_limit = 2s"]);
    });
  });
});
