// The alternative to a hosted bot (issue 15 part 5): a resident Delta Chat echo bot as a bot author
// writes it — its own deltachat-rpc-server with one account (config bot=1, so the core accepts
// contact requests and answers SecureJoin itself) and a minimal client that answers every incoming
// text with "echo: TEXT". Plain node, no loaders: its RSS is what such a bot costs.
// Run by resident-bench.ts: node resident-echo-bot.mjs RPC_SERVER ACCOUNTS_DIR ADDR PASSWORD IMAP_PORT SUBMISSION_PORT
// Prints one JSON line {"qr": …} on stdout once the account listens on INBOX; SIGTERM ends it.
import { spawn } from "node:child_process";
import { StdioDeltaChat } from "@deltachat/jsonrpc-client";

const [server, accounts, addr, password, imapPort, submissionPort] = process.argv.slice(2);
const core = spawn(server, [], {
  env: { DC_ACCOUNTS_PATH: accounts, RUST_LOG: "warn", PATH: process.env.PATH ?? "/usr/bin:/bin" },
  stdio: ["pipe", "pipe", "ignore"],
});
core.on("exit", (code, signal) => {
  if (!stopping) {
    process.stderr.write(`deltachat-rpc-server exited (${code ?? signal})\n`);
    process.exit(1);
  }
});
let stopping = false;
const dc = new StdioDeltaChat(core.stdin, core.stdout, true);

const id = await dc.rpc.addAccount();
await dc.rpc.batchSetConfig(id, { bot: "1", displayname: "Resident Echo" });
// The test relay on loopback: plain IMAP and submission, its certificate is self-signed anyway.
await dc.rpc.addOrUpdateTransport(id, {
  addr,
  password,
  imapServer: "127.0.0.1",
  imapPort: Number(imapPort),
  imapSecurity: "plain",
  imapUser: addr,
  imapFolder: null,
  smtpServer: "127.0.0.1",
  smtpPort: Number(submissionPort),
  smtpSecurity: "plain",
  smtpUser: addr,
  smtpPassword: null,
  certificateChecks: "acceptInvalidCertificates",
});

dc.on("IncomingMsg", (accountId, { chatId, msgId }) => {
  void (async () => {
    const message = await dc.rpc.getMessage(accountId, msgId);
    if (message.isInfo || message.fromId <= 9 || !message.text) return; // system and special contacts (ids ≤ 9)
    await dc.rpc.miscSendTextMessage(accountId, chatId, `echo: ${message.text}`);
  })().catch((error) => process.stderr.write(`echo failed: ${error}\n`));
});

// A QR scanned before the first IDLE on INBOX would have its request taken as old mail (deltachat-client.ts).
const listening = new Promise((resolve) => {
  const timer = setTimeout(resolve, 20_000);
  dc.on("ALL", (_accountId, event) => {
    if (event.kind === "ImapInboxIdle" || (event.kind === "Info" && /\bIDLE\b.*"INBOX"/.test(event.msg))) resolve(clearTimeout(timer));
  });
});
await dc.rpc.startIo(id);
await listening;
process.stdout.write(`${JSON.stringify({ qr: await dc.rpc.getChatSecurejoinQrCode(id, null) })}\n`);

process.on("SIGTERM", () => {
  stopping = true;
  const end = () => {
    core.kill("SIGTERM");
    process.exit(0);
  };
  setTimeout(end, 3_000).unref();
  dc.rpc.stopIoForAllAccounts().then(end, end);
});
