// The LMTP door's own CPU per mail, without Postfix or the pipeline (issue 15 part 2): the door
// (startLmtpServer, the spool) in this process, an LMTP client in a child process, so
// process.cpuUsage() here counts only the door. A session sends LHLO, then MAILS_PER_CONNECTION
// mails (MAIL, RCPT, DATA with templates/echo/sample.eml), then QUIT; Postfix's LMTP client opens
// one connection per mail when it has no backlog (every single mail), several in a burst.
// `--no-spool` answers each mail without writing it, to tell the session's cost from the spool's.
// Run with: npx vite-node test/bench/lmtp-door-only.ts [MAILS] [MAILS_PER_CONNECTION] [--no-spool]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startLmtpServer } from "../../host/service/lmtp-server.js";
import { Spool, type SpoolEntry } from "../../host/spool/spool.js";
import { systemClock } from "../../core/clock.js";
import { runBench } from "./run-bench.js";

const SAMPLE_MAIL = fileURLToPath(new URL("../../templates/echo/sample.eml", import.meta.url));
/** Sessions the client runs before the measured ones, so the door's code is warm when counting starts. */
const WARM_UP_SESSIONS = 20;

// The client, as an ES module for `node -e`: argv socket, sessions, mails per session, sample file.
const CLIENT = `
import net from "node:net";
import { readFileSync } from "node:fs";
const [socket, sessionsText, perText, sample, warmText] = process.argv.slice(1);
const mail = readFileSync(sample, "latin1").replace(/\\r?\\n/g, "\\r\\n").replace(/(\\r\\n)?$/, "\\r\\n");
const oneMail = ["MAIL FROM:<a@chat.test>\\r\\n", "RCPT TO:<bot@chat.test>\\r\\n", "DATA\\r\\n", mail + ".\\r\\n"];
const steps = ["LHLO bench\\r\\n", ...Array.from({ length: Number(perText) }, () => oneMail).flat(), "QUIT\\r\\n"];
const session = () => new Promise((resolve, reject) => {
  const s = net.connect(socket);
  let buffered = "", step = 0;
  s.on("data", (chunk) => {
    buffered += chunk;
    for (let end; (end = buffered.indexOf("\\r\\n")) >= 0; ) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (line[3] === "-") continue;
      if (!/^[23]/.test(line)) return reject(new Error("door answered: " + line));
      if (step < steps.length) s.write(steps[step++]);
    }
  });
  s.on("close", resolve);
  s.on("error", reject);
});
for (let i = 0; i < Number(warmText); i++) await session();
process.send("warm");
for (let i = 0; i < Number(sessionsText); i++) await session();
process.send("done");
`;

async function main(): Promise<void> {
  const numbers = process.argv.slice(2).filter((arg) => /^\d+$/.test(arg));
  const mails = Number(numbers[0] ?? 300);
  const perConnection = Number(numbers[1] ?? 1);
  const spooled = !process.argv.includes("--no-spool");
  const dir = mkdtempSync(join(tmpdir(), "lmtp-door-"));
  const spool = new Spool(join(dir, "spool"), systemClock);
  // Without the spool: read the mail through, as the spool would, and write nothing.
  const notSpooled = {
    write: async (recipient: string, data: AsyncIterable<Uint8Array>): Promise<SpoolEntry> => {
      for await (const _chunk of data);
      const now = Date.now();
      return { id: `${now}-${process.pid}-0000000000000000`, recipient, receivedAt: now, attempts: 0, nextAttemptAt: now };
    },
    stream: (entry: SpoolEntry) => spool.stream(entry),
  } as unknown as Spool;
  const socketPath = join(dir, "lmtp.sock");
  const door = await startLmtpServer({ socketPath, spool: spooled ? spool : notSpooled, isBot: () => true, maxBytes: 30 * 1024 * 1024, log: () => {} });
  try {
    const sessions = Math.ceil(mails / perConnection);
    const client = spawn(
      process.execPath,
      ["--input-type=module", "-e", CLIENT, socketPath, String(sessions), String(perConnection), SAMPLE_MAIL, String(WARM_UP_SESSIONS)],
      {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      },
    );
    let start: NodeJS.CpuUsage | undefined;
    const used = await new Promise<NodeJS.CpuUsage>((resolve, reject) => {
      client.on("message", (message) => {
        if (message === "warm") start = process.cpuUsage();
        if (message === "done") resolve(process.cpuUsage(start));
      });
      client.on("exit", (code) => code !== 0 && reject(new Error(`the LMTP client exited with ${code}`)));
    });
    const counted = sessions * perConnection;
    const ms = (micros: number) => (micros / 1000 / counted).toFixed(3);
    process.stdout.write(
      `LMTP door, ${counted} mails, ${perConnection} per connection, ${spooled ? "spooled (fsynced)" : "not spooled"}: ` +
        `${ms(used.user + used.system)} ms of door CPU per mail (user ${ms(used.user)}, kernel ${ms(used.system)})\n`,
    );
  } finally {
    await door.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
