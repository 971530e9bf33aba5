// `make demo`: the whole product on this machine. A chatmail-like relay (real Postfix + Dovecot on
// loopback), the host service (`chatbot host serve`, a real process receiving the bot's mail over
// LMTP), the echo bot installed from its template, its invite QR code, and a real Delta Chat
// client (core 2.57) that scans it, writes, and shows the bot's end-to-end encrypted echo.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../../host/cli/main.js";
import { startRelay } from "../support/relay.js";
import { relayHostInitArgs } from "../support/relay-host-init.js";
import { eventIs, startDeltaChat } from "../support/deltachat-client.js";

const CLI = fileURLToPath(new URL("../../lib/host/cli/main.js", import.meta.url));
const bold = (text: string) => `\x1b[1m${text}\x1b[0m`;
const step = (text: string) => process.stdout.write(`\n${bold(`== ${text}`)}\n`);
const io = (cwd: string) => ({ stdout: (t: string) => void process.stdout.write(t), stderr: (t: string) => void process.stderr.write(t), cwd });

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "chatbot-demo-"));
  chmodSync(work, 0o755);
  const data = join(work, "data");
  const bot = "echobot01@chat.test";

  step("starting a chatmail-like relay: Postfix + Dovecot on 127.0.0.1");
  const relay = await startRelay({ domain: "chat.test" });
  let serve: ChildProcess | undefined;
  const dc = await startDeltaChat();
  try {
    process.stdout.write(`relay up: IMAP 127.0.0.1:${relay.imapPort}, submission 127.0.0.1:${relay.submissionPort}\n`);

    step("chatbot host init / new / build / host install");
    const socket = join(work, "lmtp.sock");
    await runCli(relayHostInitArgs(relay, data, socket), io(work));
    await runCli(["new", "echo-bot", "--name", "echo"], { ...io(work), stdout: () => undefined });
    await runCli(["build", "echo-bot"], io(work));
    writeFileSync(join(work, "echo.pw"), "echo-bot-password\n", { mode: 0o600 });
    await relay.addUser(bot, "echo-bot-password");
    await runCli(["host", "install", bot, "echo-bot", "--password-file", "echo.pw", "--name", "Echo Bot", "--data-dir", data], io(work));

    step("chatbot host serve (LMTP on a unix socket; Postfix routes the bot's address to it)");
    // NODE_ENV=production: vite-node sets "development", which makes openpgp.js print debug traces.
    serve = spawn(process.execPath, [CLI, "host", "serve", "--data-dir", data], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, NODE_ENV: "production" },
    });
    let started!: () => void;
    const listening = new Promise<void>((resolve) => (started = resolve));
    serve.stdout?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        process.stdout.write(`  host: ${line}\n`);
        if (line.includes('"event":"service.started"')) started();
      }
    });
    // Route only once the socket listens: mail Postfix cannot hand over waits minutes in its queue.
    await listening;
    await relay.routeToLmtp(bot, socket);

    step("the bot's invite: scan it with Delta Chat (here a scripted client does)");
    const qr = { out: "" };
    await runCli(["host", "qr", bot, "--name", "Echo Bot", "--data-dir", data], { ...io(work), stdout: (t) => void (qr.out += t) });
    process.stdout.write(qr.out);
    const link = /https:\/\/i\.delta\.chat\/\S+/.exec(qr.out)![0];

    step("a real Delta Chat client (core 2.57) joins and writes");
    const alice = await dc.createAccount(relay, "Alice", "alice@chat.test", "alice-password");
    const joined = dc.waitFor(
      alice,
      eventIs("SecurejoinJoinerProgress", (e) => e.progress === 1000),
      60_000,
      "SecureJoin",
    );
    const chatId = await dc.rpc.secureJoin(alice, link);
    await joined;
    process.stdout.write("  SecureJoin complete: the bot is a verified contact\n");
    for (const text of ["Hello, bot!", "/help"]) {
      const reply = dc.waitForIncomingMessage(alice, (m) => m.chatId === chatId && m.text !== text, 60_000);
      const t0 = performance.now();
      await dc.rpc.miscSendTextMessage(alice, chatId, text);
      const message = await reply;
      const contact = await dc.rpc.getContact(alice, message.fromId);
      process.stdout.write(`  Alice → Echo Bot: ${text}\n`);
      process.stdout.write(`  Echo Bot → Alice: ${message.text.replace(/\n/g, "\n                    ")}\n`);
      process.stdout.write(
        `    ${message.showPadlock ? "🔒 end-to-end encrypted" : "NOT encrypted"} · ${contact.isBot ? "from a bot" : "not marked as bot"} · ${contact.isVerified ? "verified" : "unverified"} · ${Math.round(performance.now() - t0)} ms round trip\n`,
      );
      if (!message.showPadlock || !contact.isBot) throw new Error("the reply is not shown as an encrypted bot message");
    }
    step("done");
  } finally {
    serve?.kill("SIGTERM");
    await dc.close();
    await relay.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
