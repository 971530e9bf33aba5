// `chatbot host setup [--dry-run] [--remove]`: wire this package into the relay it runs on, once,
// as root (host/setup/setup-steps.ts): the system user and data directory, the LMTP socket's and
// the routes' folders, the routes table, Postfix's transport_maps, the deploy door and Dovecot's
// IMAPSieve rule (dovecot-steps.ts), the hardened systemd unit.
import { fileURLToPath } from "node:url";
import { ChatbotError, errorMessage } from "../../../core/errors.js";
import { DEFAULT_DATA_DIR } from "../../service/paths.js";
import { runTool } from "../../service/run-tool.js";
import { isAccountAddress } from "../../../core/address.js";
import { resolve } from "node:path";
import { findGroupId } from "../../service/unix-groups.js";
import { removeSteps, setupSteps, type SetupPlaces, type SetupStep } from "../../setup/setup-steps.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

const HELP = `Usage: chatbot host setup [--dry-run] [--remove] [--json] [--user NAME] [--data-dir DIR]
                          [--routes-dir DIR] [--queue-dir DIR] [--smtp-port PORT]
                          [--imap-port PORT] [--unit-file FILE] [--deploy-dir DIR]
                          [--mail-group GROUP] [--dovecot-config FILE]
                          [--host-bot ADDR --host-bot-password-file FILE]

Wire the host into this relay's Postfix and Dovecot, once, as root. Each step is checked first and done only
when needed, so a second run changes nothing:
  the system user (adduser --system), its data directory and host.json (host init), the LMTP
  socket's folder (setgid postfix), the routes folder and table the host keeps (one line per
  installed bot), Postfix's transport_maps reading that table (one postfix reload), Postfix's
  lmtp_connection_cache_destinations naming the socket (its connections kept between mails), the deploy
  door's folder (setgid to Dovecot's mail group), Dovecot's Sieve plugins (dovecot-sieve) and an
  IMAPSieve rule that pipes every message put into any account's ChatbotInstall folder to the
  host (files of their own next to dovecot.conf, one include line in it, one doveadm reload), and
  the hardened systemd unit (enabled and started where systemd runs).
Then any account deploys its own bot with 'chatbot deploy' and it is installed and routed within
seconds, with no further operator step;
'chatbot host doctor --data-dir DIR' checks the result.

Options:
  --dry-run         print each step, done or the command it would run; change nothing
  --remove          undo what setup changed in Postfix, Dovecot and systemd: transport_maps and
                    lmtp_connection_cache_destinations as before, Dovecot's files and include line gone, the unit stopped and gone
                    (the user, the data and the folders are kept)
  --json            print the steps as JSON
  --user NAME       the service's system user (default chatbot)
  --data-dir DIR    default ${DEFAULT_DATA_DIR}
  --routes-dir DIR  the routes table's folder (default /var/lib/chatbot-routes)
  --queue-dir DIR   Postfix's queue directory (default /var/spool/postfix)
  --smtp-port PORT  the relay's submission port (default 587)
  --imap-port PORT  the relay's IMAP port (default 143)
  --unit-file FILE  default /etc/systemd/system/chatbot.service
  --deploy-dir DIR  the deploy door's folder (default /var/lib/chatbot-deploy)
  --mail-group GROUP  the group Dovecot's mail processes run as, a name or a number (default:
                    Dovecot's mail_gid, else vmail, chatmail's)
  --dovecot-config FILE  Dovecot's main config (default /etc/dovecot/dovecot.conf)
  --host-bot ADDR   make the account ADDR the relay bot host: the host's own voice, which tells
                    each deploying account what became of its deploy (installed, refused and
                    why, paused, disabled by you), encrypted once the author verified it
  --host-bot-password-file FILE  that account's password (on chatmail the account is made at
                    the host's first login with it)
  -h, --help        show this help

Example:
  sudo chatbot host setup --dry-run
`;

function port(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    throw new ChatbotError("E_USAGE", `chatbot host setup: --${name} must be a port number, not "${text}"`);
  return value;
}

/**
 * The group Dovecot's mail processes run as: --mail-group, else Dovecot's mail_gid (chatmail sets
 * vmail), else "vmail". A name must be a group here: found now, not at the step that needs it.
 */
async function mailGroupOf(flag: string | undefined, places: SetupPlaces): Promise<string> {
  const fromDovecot =
    flag === undefined ? await runTool("doveconf", ["-c", places.dovecotConfig, "-h", "mail_gid"], { env: places.env, timeoutMs: 10_000 }).catch(() => "") : "";
  const group = flag ?? (fromDovecot || "vmail");
  if (!/^([a-z_][a-z0-9_-]*|\d+)$/.test(group))
    throw new ChatbotError("E_USAGE", `chatbot host setup: --mail-group must be a group name or number, not "${group}"`);
  if (!/^\d+$/.test(group) && findGroupId(group) === undefined)
    throw new ChatbotError(
      "E_USAGE",
      `chatbot host setup: no group "${group}" on this machine for Dovecot's mail processes; give the group (or gid) they run as with --mail-group (the gid of your userdb's users, or Dovecot's mail_gid)`,
    );
  return group;
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    "host setup",
    args,
    {
      "dry-run": { type: "boolean" },
      remove: { type: "boolean" },
      json: { type: "boolean" },
      user: { type: "string" },
      "data-dir": { type: "string" },
      "routes-dir": { type: "string" },
      "queue-dir": { type: "string" },
      "smtp-port": { type: "string" },
      "imap-port": { type: "string" },
      "unit-file": { type: "string" },
      "deploy-dir": { type: "string" },
      "mail-group": { type: "string" },
      "dovecot-config": { type: "string" },
      "host-bot": { type: "string" },
      "host-bot-password-file": { type: "string" },
    },
    0,
  );
  const user = values.user ?? "chatbot";
  if (!/^[a-z_][a-z0-9_-]*$/.test(user)) throw new ChatbotError("E_USAGE", `chatbot host setup: --user must be a system user name, not "${user}"`);
  const absolute = (name: string, text: string | undefined, fallback: string) => {
    const path = text ?? fallback;
    if (!path.startsWith("/")) throw new ChatbotError("E_USAGE", `chatbot host setup: --${name} must be an absolute path, not "${path}"`);
    return path.replace(/\/+$/, "");
  };
  const places: SetupPlaces = {
    user,
    dataDir: absolute("data-dir", values["data-dir"], DEFAULT_DATA_DIR),
    routesDir: absolute("routes-dir", values["routes-dir"], "/var/lib/chatbot-routes"),
    queueDir: absolute("queue-dir", values["queue-dir"], "/var/spool/postfix"),
    smtpPort: port("smtp-port", values["smtp-port"], 587),
    imapPort: port("imap-port", values["imap-port"], 143),
    unitFile: absolute("unit-file", values["unit-file"], "/etc/systemd/system/chatbot.service"),
    deployDir: absolute("deploy-dir", values["deploy-dir"], "/var/lib/chatbot-deploy"),
    mailGroup: "",
    dovecotConfig: absolute("dovecot-config", values["dovecot-config"], "/etc/dovecot/dovecot.conf"),
    node: process.execPath,
    cli: fileURLToPath(new URL("../main.js", import.meta.url)),
    env: process.env,
  };
  places.mailGroup = await mailGroupOf(values["mail-group"], places);
  const hostBot = values["host-bot"]?.toLowerCase();
  if ((hostBot === undefined) !== (values["host-bot-password-file"] === undefined))
    throw new ChatbotError("E_USAGE", "chatbot host setup: --host-bot ADDR and --host-bot-password-file FILE go together");
  if (hostBot !== undefined) {
    if (!isAccountAddress(hostBot)) throw new ChatbotError("E_USAGE", `chatbot host setup: --host-bot must be an account address, not "${hostBot}"`);
    places.hostBot = { addr: hostBot, passwordFile: absolute("host-bot-password-file", resolve(io.cwd, values["host-bot-password-file"]!), "") };
  }
  const dryRun = values["dry-run"] === true;
  if (!dryRun && process.getuid?.() !== 0)
    throw new ChatbotError("E_USAGE", "chatbot host setup: run it as root (sudo), or with --dry-run to see what it would do");
  const steps: SetupStep[] = values.remove ? await removeSteps(places) : await setupSteps(places);
  const report: Array<{ step: string; was: "done" | "changed" | "would change"; command?: string }> = [];
  for (const step of steps) {
    if (step.done) {
      report.push({ step: step.name, was: "done" });
      if (!values.json) io.stdout(`ok      ${step.name}\n`);
      continue;
    }
    if (dryRun) {
      report.push({ step: step.name, was: "would change", command: step.command });
      if (!values.json) io.stdout(`todo    ${step.name}\n          ${step.command}\n`);
      continue;
    }
    if (!values.json) io.stdout(`doing   ${step.name}\n          ${step.command}\n`);
    try {
      await step.apply();
    } catch (error) {
      throw new ChatbotError("E_CONFIG", `chatbot host setup: ${step.name}: ${errorMessage(error)}; fix it and run setup again (the steps before are done)`);
    }
    report.push({ step: step.name, was: "changed", command: step.command });
  }
  const changed = report.filter((r) => r.was !== "done").length;
  if (values.json) io.stdout(`${JSON.stringify({ remove: values.remove === true, dryRun, steps: report }, null, 2)}\n`);
  else
    io.stdout(
      changed === 0
        ? "nothing to change\n"
        : dryRun
          ? `${changed} step${changed === 1 ? "" : "s"} to do; run without --dry-run to do them\n`
          : values.remove
            ? "removed; the user, the data directory and the folders are kept\n"
            : `set up; check it with: chatbot host doctor --data-dir ${places.dataDir}\n`,
    );
  return EXIT.ok;
}

export const hostSetupCommand: Command = {
  path: ["host", "setup"],
  summary: "wire the host into this relay once, as root (--dry-run, --remove)",
  help: HELP,
  run,
};
