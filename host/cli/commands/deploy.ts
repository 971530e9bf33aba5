// `chatbot deploy [dir] --addr ADDR`: upload the built bot into the ChatbotInstall folder of the
// bot's own account, where the relay's host picks it up (host/service/deploy-watcher.ts).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { domainOf, isAccountAddress } from "../../../core/address.js";
import { DEFAULT_CEILINGS } from "../../../core/manifest.js";
import { ChatbotError } from "../../../core/errors.js";
import { DEFAULT_BOT_LIMITS } from "../../../core/limits.js";
import { composeControlMessage, composeDeployMessage, DEPLOY_ACTIONS, DEPLOY_FOLDER, DEPLOY_PARTS, type DeployAction } from "../../deploy/deploy-message.js";
import { IMAP_SECURITIES, type ImapSecurity, type ImapSettings } from "../../deploy/imap-settings.js";
import { readBundleFolder } from "../../service/installed-bots.js";
import { PASSWORD_MIN_CHARS } from "../../service/install-bot.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

const HELP = `Usage: chatbot deploy [dir] --addr ADDR [--password-file FILE] [--imap-host HOST]
                      [--imap-port PORT] [--imap-security plain|starttls|tls] [--json]
       chatbot deploy --pause|--resume|--remove --addr ADDR [--password-file FILE] [...]

Upload the bot built in [dir] (its dist/ folder from 'chatbot build'; default: the current
folder) to the relay that hosts the account ADDR: one message with chatbot.json, bot.js,
bot.js.map and the account's password, appended to the account's own IMAP folder
ChatbotInstall (created when missing). The relay's chatbot host logs in as the bot, checks the
manifest against its limits and the bundle against its sha256, installs it (the version before
is kept for rollback) and deletes the message; a refused deploy goes to ChatbotInstall/Refused.
Nothing else leaves this machine: no source, no keys (the host makes the bot's own).
On a relay whose operator ran 'chatbot host setup', any account deploys this way and the host
installs it within seconds; elsewhere the operator installs the first deploy.

--pause, --resume and --remove send the same kind of message with only the password: paused, the
bot's mail goes to the account's mailbox and is not run (nor are its ticks) until --resume;
--remove takes the bot off the host (it keeps a copy) and the account is a plain mailbox again.

The password comes from --password-file or $CHATBOT_PASSWORD; it is what lets the host tell
your deploy from mail someone else got into the folder.

Options:
  --addr ADDR              the bot's account, e.g. echobot01@chat.example.org
  --pause                  pause the bot (its mail waits in the account's mailbox, unanswered)
  --resume                 let a paused bot run again
  --remove                 take the bot off the relay's host
  --password-file FILE     the account's password (default: $CHATBOT_PASSWORD)
  --imap-host HOST         IMAP server (default: the address's domain)
  --imap-port PORT         IMAP port (default: 993 with tls, 143 otherwise)
  --imap-security MODE     tls (default), starttls, or plain (loopback test relays only)
  --json                   print the result as JSON
  -h, --help               show this help

Examples:
  chatbot build echo && chatbot deploy echo --addr echobot01@chat.example.org --password-file echo.pw
  chatbot deploy --pause --addr echobot01@chat.example.org --password-file echo.pw
`;

/** Deploy result (--json). */
export interface DeployResult {
  addr: string;
  folder: string;
  /** "install", or the control deploy's action. */
  action: "install" | DeployAction;
  /** The bot's name, version and bundle sha256 (null for a control deploy). */
  name: string | null;
  version: string | null;
  sha256: string | null;
  bytes: number;
  uid: number | null;
  imap: { host: string; port: number; security: ImapSecurity };
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "deploy",
    args,
    {
      addr: { type: "string" },
      "password-file": { type: "string" },
      "imap-host": { type: "string" },
      "imap-port": { type: "string" },
      "imap-security": { type: "string" },
      pause: { type: "boolean" },
      resume: { type: "boolean" },
      remove: { type: "boolean" },
      json: { type: "boolean" },
    },
    1,
  );
  const addr = values.addr?.toLowerCase();
  if (!addr || !isAccountAddress(addr))
    throw new ChatbotError("E_USAGE", "chatbot deploy: give the bot's account with --addr, e.g. --addr echobot01@chat.example.org");
  const security = (values["imap-security"] ?? "tls") as ImapSecurity;
  if (!IMAP_SECURITIES.includes(security))
    throw new ChatbotError("E_USAGE", `chatbot deploy: --imap-security must be one of ${IMAP_SECURITIES.join(", ")}, not "${values["imap-security"]}"`);
  const port = values["imap-port"] === undefined ? (security === "tls" ? 993 : 143) : Number(values["imap-port"]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ChatbotError("E_USAGE", `chatbot deploy: --imap-port must be a port number, not "${values["imap-port"]}"`);
  const password = (
    values["password-file"] === undefined ? process.env.CHATBOT_PASSWORD : await readFile(resolve(io.cwd, values["password-file"]), "utf8")
  )?.trim();
  if (!password) throw new ChatbotError("E_USAGE", "chatbot deploy: give the account's password with --password-file FILE or $CHATBOT_PASSWORD");
  if (password.length < PASSWORD_MIN_CHARS)
    throw new ChatbotError("E_USAGE", `chatbot deploy: the password must have at least ${PASSWORD_MIN_CHARS} characters (chatmail's rule)`);

  const actions = DEPLOY_ACTIONS.filter((a) => values[a] === true);
  if (actions.length > 1) throw new ChatbotError("E_USAGE", `chatbot deploy: give one of --${actions.join(", --")}, not several`);
  const action = actions[0];
  if (action !== undefined && positionals[0] !== undefined)
    throw new ChatbotError("E_USAGE", `chatbot deploy --${action} acts on the bot at --addr and takes no folder (got "${positionals[0]}")`);
  const progress = (text: string) => {
    if (!values.json) io.stdout(`${text}\n`);
  };
  let raw: string;
  let built: { name: string; version: string; sha256: string } | undefined;
  if (action !== undefined) {
    raw = composeControlMessage(addr, action, password);
    progress(`asking the relay's host to ${action} the bot at ${addr}`);
  } else {
    // The built bot, checked as the host will check it (with the seed's ceilings; the relay's may be lower).
    const dir = resolve(io.cwd, positionals[0] ?? ".");
    const dist = existsSync(join(dir, "dist", DEPLOY_PARTS.manifest)) ? join(dir, "dist") : dir;
    if (!existsSync(join(dist, DEPLOY_PARTS.manifest)))
      throw new ChatbotError("E_NOT_FOUND", `chatbot deploy: no built bot in ${dir}: run 'chatbot build' first`);
    const { manifest, sha256 } = await readBundleFolder(dist, { ceilings: { ...DEFAULT_CEILINGS, bot: DEFAULT_BOT_LIMITS } });
    const mapFile = join(dist, DEPLOY_PARTS.sourceMap);
    raw = composeDeployMessage(addr, {
      manifest: await readFile(join(dist, DEPLOY_PARTS.manifest)),
      bundle: await readFile(join(dist, DEPLOY_PARTS.bundle)),
      ...(existsSync(mapFile) ? { sourceMap: await readFile(mapFile) } : {}),
      password,
    });
    built = { name: manifest.name, version: manifest.version, sha256 };
    progress(`deploying ${manifest.name} ${manifest.version} (sha256 ${sha256.slice(0, 12)}…, ${raw.length} bytes) to ${addr}`);
  }

  const imap: ImapSettings = { host: values["imap-host"] ?? domainOf(addr), port, security, allowSelfSigned: false };
  progress(`  logging in to ${imap.host}:${imap.port} (${security})`);
  const { openDeployMailbox } = await import("../../deploy/imap-mailbox.js");
  const mailbox = await openDeployMailbox(imap, addr, password);
  let uid: number | undefined;
  try {
    progress(`  uploading into ${DEPLOY_FOLDER}`);
    uid = await mailbox.append(raw);
  } finally {
    await mailbox.close();
  }
  const result: DeployResult = {
    addr,
    folder: DEPLOY_FOLDER,
    action: action ?? "install",
    name: built?.name ?? null,
    version: built?.version ?? null,
    sha256: built?.sha256 ?? null,
    bytes: raw.length,
    uid: uid ?? null,
    imap: { host: imap.host, port: imap.port, security },
  };
  if (values.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else
    progress(
      `${action === undefined ? "deployed" : "sent"}: on a relay set up with 'chatbot host setup' the host acts on it within seconds (its log: ${action === undefined ? "install.deployed" : `install.${action}d`}); ` +
        `otherwise at its next look into ${DEPLOY_FOLDER} (every few minutes)`,
    );
  return EXIT.ok;
}

export const deployCommand: Command = {
  path: ["deploy"],
  summary: "upload a built bot into its account's ChatbotInstall folder for the relay's host",
  help: HELP,
  run,
};
