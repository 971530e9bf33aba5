// What a `host serve` reduced to its door would hold at rest (issue 15 part 5, "Beyond one machine"):
// a plain Node process with only the LMTP door and the spool (the built lib/ files `host serve`
// uses for them, V8's --optimize-for-size as serve sets it) takes N mails over LMTP, then rests
// IDLE ms, collects its garbage, and reports its RSS beside `host serve`'s at rest (section 15).
// Not a product path: it measures the split the README describes before anyone builds it.
// Run with: npx vite-node test/bench/door-rss.ts [N]   (after `make build`; default 300 mails)
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import SMTPConnection from "nodemailer/lib/smtp-connection/index.js";
import { processRss } from "./stats.js";
import { runBench } from "./run-bench.js";

/** How long the door rests after the last mail before its RSS is read, ms (as section 15's 40 s). */
const IDLE_MS = 40_000;
const lib = (path: string) => pathToFileURL(join(import.meta.dirname, "../../lib/host", path)).href;

// The door's whole program: what serveHost starts for LMTP, without the service behind it.
const DOOR = `
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
setFlagsFromString("--optimize-for-size");
const { startLmtpServer } = await import(${JSON.stringify(lib("service/lmtp-server.js"))});
const { Spool } = await import(${JSON.stringify(lib("spool/spool.js"))});
const [dir] = process.argv.slice(1);
const spool = new Spool(dir + "/spool", { now: () => Date.now() });
await spool.recover();
const socketPath = dir + "/lmtp.sock";
await startLmtpServer({ socketPath, spool, isBot: () => true, maxBytes: 30 * 1024 * 1024, log: () => {}, onSpooled: () => {} });
console.log("ready " + socketPath);
process.stdin.once("data", async () => {
  await new Promise((r) => setTimeout(r, ${IDLE_MS}));
  setFlagsFromString("--expose-gc");
  runInNewContext("gc")();
  await new Promise((r) => setTimeout(r, 1000));
  console.log("rested");
});
`;

/** An LMTP connection to the door's socket, as Postfix's lmtp client keeps one open for many mails. */
function openLmtp(socketPath: string): Promise<SMTPConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.once("error", reject);
    socket.once("connect", () => {
      const lmtp = new SMTPConnection({ connection: socket, lmtp: true, name: "relay.test" });
      lmtp.once("error", reject);
      lmtp.connect(() => resolve(lmtp));
    });
  });
}

/** One LMTP transaction, then RSET for the next. */
function deliver(lmtp: SMTPConnection, mail: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    lmtp.send({ from: "sender@relay.test", to: ["bot@relay.test"] }, mail, (error) => {
      if (error) return reject(error);
      lmtp.reset((resetError) => (resetError ? reject(resetError) : resolve()));
    }),
  );
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 300);
  if (!Number.isInteger(n) || n < 1) throw new Error(`N must be a positive whole number, not ${process.argv[2]}`);
  const dir = mkdtempSync(join(tmpdir(), "door-rss-"));
  const door = spawn(process.execPath, ["--input-type=module", "-e", DOOR, dir], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  try {
    const lines = createInterface({ input: door.stdout! })[Symbol.asyncIterator]();
    const first = String((await lines.next()).value ?? "");
    if (!first.startsWith("ready ")) throw new Error(`the door did not start: ${first}`);
    const loadedKiB = processRss(door.pid!).rssBytes / 1024;
    // A mail the size of a Delta Chat text message (~3 KiB armored).
    const mail = Buffer.from(`From: sender@relay.test\r\nTo: bot@relay.test\r\nSubject: [...]\r\nMessage-ID: <m@relay.test>\r\n\r\n${"x".repeat(3000)}\r\n`);
    const lmtp = await openLmtp(first.slice("ready ".length));
    for (let i = 0; i < n; i++) await deliver(lmtp, mail);
    lmtp.quit();
    const busyKiB = processRss(door.pid!).rssBytes / 1024;
    process.stderr.write(`${n} mails spooled; resting ${IDLE_MS / 1000} s …\n`);
    door.stdin!.write("rest\n");
    if ((await lines.next()).value !== "rested") throw new Error("the door did not report its rest");
    const restKiB = processRss(door.pid!).rssBytes / 1024;
    const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
    process.stdout.write(
      `door only (LMTP + spool, no pipeline): loaded ${mib(loadedKiB)}, after ${n} mails ${mib(busyKiB)}, at rest after ${IDLE_MS / 1000} s and a collection ${mib(restKiB)}\n` +
        "    (compare: `host serve` at rest with one bot, section 15 of `make bench` or `npx vite-node test/bench/resident-only.ts`)\n",
    );
  } finally {
    door.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main, "bench failed: ");
