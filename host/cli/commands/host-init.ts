// `chatbot host init`: create the host's data directory and config.
import { existsSync } from "node:fs";
import { chmod } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ChatbotError } from "../../../core/errors.js";
import { loadHostConfig, saveHostConfig } from "../../service/host-config.js";
import { DEFAULT_LMTP_SOCKET, dataDirFrom, hostPaths } from "../../service/paths.js";
import { DIR_MODE, mkdirDurable } from "../../spool/durable-fs.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

const HELP = `Usage: chatbot host init [--data-dir DIR] [--smtp-host HOST] [--smtp-port PORT] [--smtp-tls]
                         [--imap-host HOST] [--imap-port PORT] [--imap-security plain|starttls|tls]
                         [--lmtp-socket PATH] [--lmtp-group NAME] [--transport-map FILE]
                         [--deploy-inbox DIR] [--concurrency N] [--force]

Create the host's data directory and its config, DIR/host.json (0600). The directory and its
spool/, bots/ and logs/ are made 0700, existing ones too (e.g. the home 'adduser --system' made).
The host submits the bots' mail as the bot accounts over SMTP (submission, with the account's
password) and receives it over LMTP on a unix socket (or through 'chatbot host deliver').

Options:
  --data-dir DIR      the data directory (default: $CHATBOT_DATA_DIR or /var/lib/chatbot)
  --smtp-host HOST    submission server (default 127.0.0.1)
  --smtp-port PORT    submission port (default 587)
  --smtp-tls          implicit TLS (port 465); otherwise STARTTLS when offered
  --imap-host HOST    IMAP server for deploys and the daily login (default 127.0.0.1)
  --imap-port PORT    IMAP port (default 143)
  --imap-security M   starttls (default), tls, or plain (a relay on loopback only)
  --lmtp-socket PATH  where 'chatbot host serve' listens for LMTP
                      (default ${DEFAULT_LMTP_SOCKET}; Postfix: lmtp:unix:chatbot/lmtp.sock)
  --lmtp-group NAME   the group the socket must have so Postfix can connect (e.g. postfix);
                      'host serve' checks it at start. Make the socket's folder setgid to it, as
                      root: install -d -o chatbot -g postfix -m 2750 ${dirname(DEFAULT_LMTP_SOCKET)}
  --transport-map FILE  let the host keep Postfix's table of bot routes in FILE (host.json
                      transportMap; Postfix: transport_maps = hash:FILE), one line per installed
                      bot, so a new bot needs no Postfix step. FILE's folder: writable by the
                      host's user, readable by Postfix ('chatbot host route' writes it now)
  --deploy-inbox DIR  the folder Dovecot's IMAPSieve hook drops every deploy appended to any
                      account's ChatbotInstall folder into, so any account deploys its own bot
                      within seconds (host.json deployInbox; 'chatbot host setup' makes it)
  --concurrency N     events run at once (default 1)
  --force             overwrite an existing host.json
  -h, --help          show this help

Example:
  chatbot host init --data-dir /var/lib/chatbot --smtp-port 587
`;

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    "host init",
    args,
    {
      "data-dir": { type: "string" },
      "smtp-host": { type: "string" },
      "smtp-port": { type: "string" },
      "smtp-tls": { type: "boolean" },
      "imap-host": { type: "string" },
      "imap-port": { type: "string" },
      "imap-security": { type: "string" },
      "lmtp-socket": { type: "string" },
      "lmtp-group": { type: "string" },
      "transport-map": { type: "string" },
      "deploy-inbox": { type: "string" },
      concurrency: { type: "string" },
      force: { type: "boolean" },
    },
    0,
  );
  const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
  const paths = hostPaths(dataDir);
  if (existsSync(paths.config) && !values.force) {
    throw new ChatbotError("E_USAGE", `chatbot host init: ${paths.config} exists; use --force to overwrite it`);
  }
  const number = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new ChatbotError("E_USAGE", `chatbot host init: --${name} must be a whole number ≥ 1, not "${text}"`);
    return value;
  };
  // chmod too: mkdir leaves the mode of a folder that exists alone (adduser makes homes 0755 or 0750).
  for (const dir of [dataDir, paths.spool, paths.bots, paths.logs]) {
    await mkdirDurable(dir);
    await chmod(dir, DIR_MODE);
  }
  const port = number("smtp-port", values["smtp-port"]);
  const concurrency = number("concurrency", values.concurrency);
  const imapPort = number("imap-port", values["imap-port"]);
  const imap = {
    ...(values["imap-host"] ? { host: values["imap-host"] } : {}),
    ...(imapPort ? { port: imapPort } : {}),
    ...(values["imap-security"] ? { security: values["imap-security"] } : {}),
  };
  await saveHostConfig(paths.config, {
    smtp: { host: values["smtp-host"] ?? "127.0.0.1", port: port ?? 587, secure: values["smtp-tls"] ?? false, allowSelfSigned: true },
    ...(Object.keys(imap).length ? { imap } : {}),
    ...(values["lmtp-socket"] ? { lmtpSocket: values["lmtp-socket"] } : {}),
    ...(values["lmtp-group"] ? { lmtpSocketGroup: values["lmtp-group"] } : {}),
    ...(values["transport-map"] ? { transportMap: resolve(io.cwd, values["transport-map"]) } : {}),
    ...(values["deploy-inbox"] ? { deployInbox: resolve(io.cwd, values["deploy-inbox"]) } : {}),
    ...(concurrency ? { concurrency } : {}),
  });
  const config = await loadHostConfig(paths.config, dataDir);
  io.stdout(
    `host data directory ${dataDir}\n  config  ${paths.config}\n  smtp    ${config.smtp.host}:${config.smtp.port}\n  imap    ${config.imap.host}:${config.imap.port} (${config.imap.security})\n  lmtp    ${config.lmtpSocket}\n${config.deployInbox ? `  deploys ${config.deployInbox}\n` : ""}${config.transportMap ? `  routes  ${config.transportMap} (Postfix: transport_maps = hash:${config.transportMap}; write it now with 'chatbot host route')\n` : ""}next: chatbot host install ADDR BOT_FOLDER --password-file FILE --data-dir ${dataDir}\n`,
  );
  return EXIT.ok;
}

export const hostInitCommand: Command = { path: ["host", "init"], summary: "create the host's data directory and config", help: HELP, run };
