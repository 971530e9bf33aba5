// `chatbot host route`: bring the Postfix transport table the host keeps (host.json transportMap)
// in line with the installed bots now, and print it. `host serve` does it at start and every
// install does it too; this is the operator's way to do it by hand (after fixing what made a
// rebuild fail, or before pointing Postfix's transport_maps at the table the first time).
import { ChatbotError } from "../../../core/errors.js";
import { loadHostConfig } from "../../service/host-config.js";
import { dataDirFrom, hostPaths } from "../../service/paths.js";
import { plannedTransportMap, syncTransportMap, type TransportMapSync } from "../../service/transport-map.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

const HELP = `Usage: chatbot host route [--dry-run] [--json] [--data-dir DIR]

Rewrite the Postfix transport table the host keeps (host.json "transportMap") with one line
per installed bot, "ADDR NEXTHOP", and rebuild it with postmap. Postfix reads it once main.cf says
  transport_maps = hash:FILE
(run this first, so the table exists when Postfix looks); its queue manager sees a rebuilt table
after a reload, which the unit 'chatbot host setup' installs does at each change. 'host serve'
and every install rewrite the table on their own.

Options:
  --dry-run       print the table as it would be, change nothing
  --json          print {file, bots, changed, text} instead
  --data-dir DIR  the host's data directory (default: $CHATBOT_DATA_DIR or /var/lib/chatbot)
  -h, --help      show this help

Example:
  chatbot host route --data-dir /var/lib/chatbot
`;

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs("host route", args, { "dry-run": { type: "boolean" }, json: { type: "boolean" }, "data-dir": { type: "string" } }, 0);
  const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
  const config = await loadHostConfig(hostPaths(dataDir).config, dataDir);
  if (config.transportMap === undefined) {
    throw new ChatbotError(
      "E_CONFIG",
      `chatbot host route: host.json has no "transportMap": routes are the operator's (README "Install", step 3). To let the host keep them, set it, e.g. "transportMap": "/var/lib/chatbot-routes/transport"`,
    );
  }
  const dryRun = values["dry-run"] === true;
  let sync: TransportMapSync;
  if (dryRun) {
    const planned = (await plannedTransportMap(dataDir, config))!;
    sync = { file: planned.file, bots: planned.bots.length, text: planned.text, changed: false };
  } else sync = (await syncTransportMap(dataDir, config))!;
  if (values.json) io.stdout(`${JSON.stringify({ file: sync.file, bots: sync.bots, changed: sync.changed, dryRun, text: sync.text })}\n`);
  else {
    io.stdout(sync.text);
    const what = dryRun ? "not written (--dry-run)" : sync.changed ? "written and rebuilt with postmap" : "already up to date";
    io.stderr(`${sync.file}: ${sync.bots} bot${sync.bots === 1 ? "" : "s"}, ${what}\n`);
  }
  return EXIT.ok;
}

export const hostRouteCommand: Command = {
  path: ["host", "route"],
  summary: "rewrite the Postfix transport table of the installed bots (host.json transportMap)",
  help: HELP,
  run,
};
