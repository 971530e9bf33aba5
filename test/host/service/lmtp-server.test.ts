import { spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { HostEvent } from "../../../host/service/host-event.js";
import { startLmtpServer, type LmtpServer } from "../../../host/service/lmtp-server.js";
import { Spool, type MailSource, type SpoolEntry } from "../../../host/spool/spool.js";
import { errorCode } from "../../support/errors.js";
import { lmtpSend, ReplyReader } from "../../support/lmtp-client.js";

const BOTS = new Set(["a@chat.test", "b@chat.test"]);
const MAIL = "From: alice@chat.test\r\nSubject: hi\r\n\r\nhello\r\n.dot line\r\n";

/** A spool whose writes for `failFor` fail like a full disk. */
class FlakySpool extends Spool {
  constructor(
    dir: string,
    private readonly failFor: string,
  ) {
    super(dir, { now: () => Date.now() });
  }
  override async write(recipient: string, data: MailSource, maxBytes: number): Promise<SpoolEntry> {
    if (recipient === this.failFor) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    return super.write(recipient, data, maxBytes);
  }
}

const servers: LmtpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(options: { maxBytes?: number; spool?: (dir: string) => Spool } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "lmtp-"));
  const socketPath = join(dir, "lmtp.sock");
  const spool = options.spool?.(join(dir, "spool")) ?? new Spool(join(dir, "spool"), { now: () => Date.now() });
  const log: HostEvent[] = [];
  const spooled: SpoolEntry[] = [];
  const server = await startLmtpServer({
    socketPath,
    spool,
    isBot: (addr) => BOTS.has(addr),
    maxBytes: options.maxBytes ?? 1_000_000,
    log: (line) => log.push(line),
    onSpooled: (entry) => spooled.push(entry),
  });
  servers.push(server);
  return { dir, socketPath, spool, log, spooled, server };
}

describe("lmtp door", () => {
  it("lmtp: a mail for two bots gets one 250 per recipient, each after its own durable spool entry", async () => {
    const { socketPath, spool } = await start();
    const t = await lmtpSend(socketPath, { from: "alice@chat.test", to: ["a@chat.test", "B@chat.test"], data: MAIL });
    expect(t.greeting).toMatch(/^220 .*LMTP/);
    expect(t.rcpt).toEqual(["250 2.1.5 Accepted", "250 2.1.5 Accepted"]);
    expect(t.data).toHaveLength(2);
    for (const line of t.data) expect(line).toMatch(/^250 2\.6\.0 \d+-\d+-[0-9a-f]{12} spooled$/);
    const entries = await spool.all();
    expect(entries.map((e) => e.recipient).sort()).toEqual(["a@chat.test", "b@chat.test"]);
    // Stored as received: CRLF line ends, the dot-stuffing of the transfer removed.
    for (const entry of entries) expect(new TextDecoder().decode(await spool.read(entry))).toBe(MAIL);
  });

  it("lmtp: each spooled entry is handed to onSpooled (how host serve wakes its drain loop) right after its lmtp.spooled line; a failed one is not", async () => {
    const { socketPath, spool, log, spooled } = await start({ spool: (dir) => new FlakySpool(dir, "b@chat.test") });
    const t = await lmtpSend(socketPath, { from: "alice@chat.test", to: ["a@chat.test", "b@chat.test"], data: MAIL });
    expect(t.data.map((line) => line.slice(0, 3))).toEqual(["250", "451"]);
    expect(spooled.map((entry) => entry.id)).toEqual((await spool.all()).map((entry) => entry.id));
    expect(spooled.map((entry) => entry.recipient)).toEqual(["a@chat.test"]);
    expect(log.filter((line) => line.event === "lmtp.spooled")).toEqual([
      { event: "lmtp.spooled", bot: "a@chat.test", entry: spooled[0]!.id, from: "alice@chat.test" },
    ]);
  });

  it("lmtp: RCPT for an address that is not a bot is refused for now (450: retried, not bounced), and the bot in the same transaction still gets the mail", async () => {
    const { socketPath, spool, log } = await start();
    const t = await lmtpSend(socketPath, { from: "alice@chat.test", to: ["nobody@chat.test", "a@chat.test"], data: MAIL });
    expect(t.rcpt[0]).toMatch(/^450 4\.\d\.\d <nobody@chat\.test>: not a bot on this host now; Postfix retries/);
    expect(t.data).toEqual([expect.stringMatching(/^250 /)]);
    expect((await spool.all()).map((e) => e.recipient)).toEqual(["a@chat.test"]);
    expect(log).toContainEqual({ event: "lmtp.rcpt-refused", rcpt: "nobody@chat.test" });
  });

  it("lmtp: LHLO advertises the size limit and neither AUTH nor STARTTLS (a local socket)", async () => {
    const { socketPath } = await start({ maxBytes: 31_457_280 });
    const t = await lmtpSend(socketPath, { from: "alice@chat.test", to: ["nobody@chat.test"], data: MAIL });
    expect(t.lhlo).toContainEqual(expect.stringMatching(/^250[- ]SIZE 31457280$/));
    expect(t.lhlo.join("\n")).not.toMatch(/AUTH|STARTTLS/);
  });

  it("lmtp: a mail exactly at maxBytes is spooled; one byte over gets 552 for every recipient and leaves nothing", async () => {
    const atCap = MAIL.length; // the bytes after the transfer's dot-unstuffing, which is what is stored
    const { socketPath, spool, dir } = await start({ maxBytes: atCap });
    const ok = await lmtpSend(socketPath, { from: "alice@chat.test", to: ["a@chat.test"], data: MAIL });
    expect(ok.data).toEqual([expect.stringMatching(/^250 /)]);
    const over = await lmtpSend(socketPath, { from: "alice@chat.test", to: ["a@chat.test", "b@chat.test"], data: MAIL.replace("hello", "hello!") });
    expect(over.data).toHaveLength(2);
    for (const line of over.data) expect(line).toMatch(/^552 /);
    expect(await spool.all()).toHaveLength(1);
    // Announced in advance (MAIL FROM … SIZE=), it is refused before any data is sent.
    const announced = await lmtpSend(socketPath, { from: "alice@chat.test", to: ["a@chat.test"], data: MAIL, size: atCap + 1 });
    expect(announced.mail).toMatch(/^552 /);
    expect(await readdir(join(dir, "spool", "tmp"))).toEqual([]);
  });

  it("lmtp: a recipient whose spool write fails gets 451 4.3.0 (Postfix retries only that one); the other gets 250", async () => {
    const { socketPath, spool } = await start({ spool: (dir) => new FlakySpool(dir, "b@chat.test") });
    const t = await lmtpSend(socketPath, { from: "alice@chat.test", to: ["a@chat.test", "b@chat.test"], data: MAIL });
    expect(t.data[0]).toMatch(/^250 /);
    expect(t.data[1]).toBe("451 4.3.0 cannot spool the mail, try again later");
    expect((await spool.all()).map((e) => e.recipient)).toEqual(["a@chat.test"]);
  });

  it("lmtp: when the first write fails (the mail is nowhere on disk) every recipient gets 451, and nothing is spooled", async () => {
    const { socketPath, spool } = await start({ spool: (dir) => new FlakySpool(dir, "a@chat.test") });
    const t = await lmtpSend(socketPath, { from: "alice@chat.test", to: ["a@chat.test", "b@chat.test"], data: MAIL });
    expect(t.data).toEqual(["451 4.3.0 cannot spool the mail, try again later", "451 4.3.0 cannot spool the mail, try again later"]);
    expect(await spool.all()).toEqual([]);
    // The connection is still usable afterwards: the rest of DATA was read to its end.
    const next = await lmtpSend(socketPath, { from: "alice@chat.test", to: ["b@chat.test"], data: MAIL });
    expect(next.data).toEqual([expect.stringMatching(/^250 /)]);
  });

  it("lmtp: the socket is mode 0660; a stale socket file is replaced, a live one or a regular file is refused", async () => {
    const first = await start();
    expect((await stat(first.socketPath)).mode & 0o777).toBe(0o660);
    const log = () => {};
    const spool = first.spool;
    expect(await errorCode(startLmtpServer({ socketPath: first.socketPath, spool, isBot: () => true, maxBytes: 10, log }))).toBe("E_CONFIG");

    // A stale socket: a server that was killed (-9) leaves its socket file behind.
    const stalePath = join(first.dir, "stale.sock");
    const crashed = spawn(process.execPath, ["-e", "require('node:net').createServer().listen(process.argv[1], () => console.log('up'))", stalePath], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise((resolve) => crashed.stdout.once("data", resolve));
    crashed.kill("SIGKILL");
    await new Promise((resolve) => crashed.once("exit", resolve));
    expect((await stat(stalePath)).isSocket()).toBe(true);
    const replaced = await startLmtpServer({ socketPath: stalePath, spool, isBot: (addr) => BOTS.has(addr), maxBytes: 1000, log });
    servers.push(replaced);
    expect((await lmtpSend(stalePath, { from: "x@chat.test", to: ["a@chat.test"], data: MAIL })).data).toEqual([expect.stringMatching(/^250 /)]);

    const filePath = join(first.dir, "not-a-socket");
    await writeFile(filePath, "keep me");
    expect(await errorCode(startLmtpServer({ socketPath: filePath, spool, isBot: () => true, maxBytes: 10, log }))).toBe("E_CONFIG");
  });

  it("lmtp: a socket whose folder does not exist fails with E_CONFIG naming the folder and the command that makes it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lmtp-"));
    const socketPath = join(dir, "missing", "lmtp.sock");
    const spool = new Spool(join(dir, "spool"), { now: () => Date.now() });
    const failure = startLmtpServer({ socketPath, spool, isBot: () => true, maxBytes: 10, log: () => {} });
    await expect(failure).rejects.toThrow(
      new RegExp(`the folder ${join(dir, "missing")} does not exist; as root: install -d -o \\S+ -g postfix -m 2750 ${join(dir, "missing")}`),
    );
    expect(await errorCode(failure)).toBe("E_CONFIG");
  });

  it("lmtp: the socket ends up with socketGroup — inherited from a setgid folder, or given by chown where this user may", async () => {
    // Any group other than this process's own: the socket would not get it by default.
    const other = readFileSync("/etc/group", "utf8")
      .split("\n")
      .map((line) => Number(line.split(":")[2]))
      .find((gid) => Number.isInteger(gid) && gid !== process.getgid!())!;
    const dir = mkdtempSync(join(tmpdir(), "lmtp-"));
    const setgid = join(dir, "setgid");
    mkdirSync(setgid);
    chownSync(setgid, process.getuid!(), other);
    chmodSync(setgid, 0o2750);
    const plain = join(dir, "plain");
    mkdirSync(plain);
    const spool = new Spool(join(dir, "spool"), { now: () => Date.now() });
    for (const folder of [setgid, plain]) {
      const socketPath = join(folder, "lmtp.sock");
      servers.push(await startLmtpServer({ socketPath, spool, isBot: () => true, maxBytes: 10, log: () => {}, socketGroup: other }));
      expect((await stat(socketPath)).gid).toBe(other);
      expect((await stat(socketPath)).mode & 0o777).toBe(0o660);
    }
  });

  it("lmtp: close() ends a session between transactions at once with 421 (Postfix keeps its connections open between mails), and lets one in DATA finish its mail", async () => {
    const { socketPath, server, spool } = await start();
    const session = async () => {
      const socket = connect(socketPath);
      const reader = new ReplyReader(socket);
      await reader.next(); // greeting
      socket.write("LHLO postfix.test\r\n");
      await reader.next();
      return { socket, reader };
    };
    const idle = await session();
    const busy = await session();
    for (const [command, reply] of [
      ["MAIL FROM:<alice@chat.test>", /^250/],
      ["RCPT TO:<a@chat.test>", /^250/],
      ["DATA", /^354/],
    ] as const) {
      busy.socket.write(`${command}\r\n`);
      expect((await busy.reader.next()).at(-1)).toMatch(reply);
    }
    busy.socket.write(MAIL.slice(0, 10)); // part of the mail: DATA in progress

    let closed = false;
    const closing = server.close().then(() => (closed = true));
    expect((await idle.reader.next()).at(-1)).toMatch(/^421 .*stopping, try again later/);
    expect(closed).toBe(false); // the session in DATA still holds the door open
    busy.socket.write(`${MAIL.slice(10)}.\r\n`);
    expect((await busy.reader.next()).at(-1)).toMatch(/^250 .* spooled/);
    busy.socket.end();
    await closing;
    expect((await spool.all()).map((entry) => entry.recipient)).toEqual(["a@chat.test"]);
  });

  it("lmtp: close() stops the door and removes its socket", async () => {
    const { socketPath, server } = await start();
    await server.close();
    await expect(stat(socketPath)).rejects.toThrow(/ENOENT/);
  });
});
