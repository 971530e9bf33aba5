// `chatbot host remove ADDR`: take a bot off this host. Its folder (bundle, keys, password, state)
// moves to DIR/removed/ADDR.TIME, so nothing is lost by a slip, and the transport table the host
// keeps loses its line: Postfix then delivers the address's mail to its mailbox again, as for any
// account (mail already on its way is deferred by the LMTP door and delivered there on retry).
import { isAccountAddress } from "../../../core/address.js";
import { ChatbotError } from "../../../core/errors.js";
import { loadHostConfig } from "../../service/host-config.js";
import { dataDirFrom, hostPaths, isInstalledBot } from "../../service/paths.js";
import { removeBot } from "../../service/author-controls.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

const HELP = `Usage: chatbot host remove ADDR [--data-dir DIR]

Take the bot at ADDR off this host. Its folder moves to DIR/removed/ADDR.TIME (keys, password,
state and bundles kept; delete it when you are sure), and when host.json has "transportMap" the
table loses the bot's line, so Postfix delivers the address's mail to its mailbox again once it
has read the table ('chatbot host setup' installs a unit that reloads Postfix at each change;
meanwhile the LMTP door defers the address's mail). Without "transportMap", take its line out of
your transport table yourself. A running 'host serve' stops running the bot at its next mail or tick.

Options:
  --data-dir DIR  the host's data directory (default: $CHATBOT_DATA_DIR or /var/lib/chatbot)
  -h, --help      show this help

Example:
  chatbot host remove echobot01@chat.example.org
`;

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs("host remove", args, { "data-dir": { type: "string" } }, 1);
  const addr = positionals[0]?.toLowerCase();
  if (!addr || !isAccountAddress(addr))
    throw new ChatbotError("E_USAGE", "chatbot host remove: give the bot's address, e.g. chatbot host remove echobot01@chat.example.org");
  const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
  const config = await loadHostConfig(hostPaths(dataDir).config, dataDir);
  if (!isInstalledBot(dataDir, addr)) throw new ChatbotError("E_NOT_FOUND", `chatbot host remove: no bot is installed at ${addr} (see 'chatbot host bots')`);
  const { kept, sync } = await removeBot(dataDir, config, addr, new Date());
  io.stdout(`removed ${addr}: its folder is now ${kept}\n`);
  io.stdout(
    sync
      ? `  routing  ${sync.file} no longer routes ${addr}: Postfix delivers its mail to the mailbox again once it has read the table\n`
      : `  routing  take ${addr} out of your Postfix transport table yourself (host.json has no "transportMap")\n`,
  );
  return EXIT.ok;
}

export const hostRemoveCommand: Command = {
  path: ["host", "remove"],
  summary: "take a bot off this host (its folder is kept under DIR/removed)",
  help: HELP,
  run,
};
