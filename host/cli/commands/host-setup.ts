// `chatbot host setup [--dry-run] [--remove]`: wire this package into the relay it runs on, once,
// as root (host/setup/setup-steps.ts): the system user and data directory, the LMTP socket's and
// the routes' folders, the routes table, Postfix's transport_maps, the hardened systemd unit.
import { fileURLToPath } from "node:url";
import { ChatbotError, errorMessage } from "../../../core/errors.js";
import { DEFAULT_DATA_DIR } from "../../service/paths.js";
import { removeSteps, setupSteps, type SetupPlaces, type SetupStep } from "../../setup/setup-steps.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

const HELP = `Usage: chatbot host setup [--dry-run] [--remove] [--json] [--user NAME] [--data-dir DIR]
                          [--routes-dir DIR] [--queue-dir DIR] [--smtp-port PORT]
                          [--imap-port PORT] [--unit-file FILE]

Wire the host into this relay's Postfix, once, as root. Each step is checked first and done only
when needed, so a second run changes nothing:
  the system user (adduser --system), its data directory and host.json (host init), the LMTP
  socket's folder (setgid postfix), the routes folder and table the host keeps (one line per
  installed bot), Postfix's transport_maps reading that table (one postfix reload), and the
  hardened systemd unit (enabled and started where systemd runs).
Then every bot an account deploys, or the operator installs, is routed with no further step;
'chatbot host doctor --data-dir DIR' checks the result.

Options:
  --dry-run         print each step, done or the command it would run; change nothing
  --remove          undo what setup changed in Postfix and systemd: transport_maps as before,
                    the unit stopped and gone (the user, the data and the folders are kept)
  --json            print the steps as JSON
  --user NAME       the service's system user (default chatbot)
  --data-dir DIR    default ${DEFAULT_DATA_DIR}
  --routes-dir DIR  the routes table's folder (default /var/lib/chatbot-routes)
  --queue-dir DIR   Postfix's queue directory (default /var/spool/postfix)
  --smtp-port PORT  the relay's submission port (default 587)
  --imap-port PORT  the relay's IMAP port (default 143)
  --unit-file FILE  default /etc/systemd/system/chatbot.service
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
    node: process.execPath,
    cli: fileURLToPath(new URL("../main.js", import.meta.url)),
    env: process.env,
  };
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
