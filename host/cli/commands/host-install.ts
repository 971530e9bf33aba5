// `chatbot host install ADDR DIR`: install (or upgrade, or roll back) a built bot for an account;
// `--from-account`: install what its author deployed into the account (`chatbot deploy`).
import { readFile } from "node:fs/promises";
import { isAccountAddress } from "../../../core/address.js";
import { renameDurable } from "../../spool/durable-fs.js";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ChatbotError } from "../../../core/errors.js";
import { loadHostConfig } from "../../service/host-config.js";
import { readBundleFolder } from "../../service/installed-bots.js";
import { installBundle } from "../../service/install-bot.js";
import { dataDirFrom, hostPaths } from "../../service/paths.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

const HELP = `Usage: chatbot host install ADDR DIR --password-file FILE [--name NAME] [--data-dir DIR]
       chatbot host install ADDR --from-account [--password-file FILE] [--name NAME] [--data-dir DIR]
       chatbot host install ADDR --rollback [--data-dir DIR]
       chatbot host install ADDR --host-bot --password-file FILE [--name NAME] [--data-dir DIR]

Install the bot built in DIR (its dist/ folder, made by 'chatbot build') for the account ADDR,
or upgrade it: the version before is kept for --rollback. The manifest is checked against this
host's ceilings and the bundle against its sha256. Prints the author's contact: the person to
reach about this bot.

With --from-account the bot comes from the account itself: the host logs in over IMAP (imap in
host.json) and installs what its author uploaded with 'chatbot deploy' into the ChatbotInstall
folder, with the same checks. 'chatbot host serve' does this by itself for installed bots.

With --host-bot the account becomes the relay bot host, the host's own voice (host.json
"hostBot"): it runs the bundle this package ships (it answers anyone who writes with what it is),
and the host sends its notices to the accounts that deploy bots from it — installed, refused and
why, paused, disabled by the operator, failing — end-to-end encrypted to every account that
verified it by scanning its invite ('chatbot host qr ADDR').

Options:
  --password-file FILE  the account's password (stored 0600; the host submits mail as ADDR)
  --name NAME           the name people see for the bot (default: the manifest's name)
  --from-account        install the deploy waiting in the account's ChatbotInstall folder
  --rollback            go back to the previous version
  --host-bot            make ADDR the relay bot host (the bundle ships with this package)
  --data-dir DIR        the host's data directory (default: $CHATBOT_DATA_DIR or /var/lib/chatbot)
  -h, --help            show this help

Example:
  chatbot host install echobot01@chat.example.org ./echo --password-file echo.pw
  chatbot host install echobot01@chat.example.org --from-account --password-file echo.pw
`;

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "host install",
    args,
    {
      "password-file": { type: "string" },
      name: { type: "string" },
      rollback: { type: "boolean" },
      "from-account": { type: "boolean" },
      "host-bot": { type: "boolean" },
      "data-dir": { type: "string" },
    },
    2,
  );
  const addr = positionals[0]?.toLowerCase();
  if (!addr || !isAccountAddress(addr))
    throw new ChatbotError(
      "E_USAGE",
      "chatbot host install: give the bot account's address first, e.g. chatbot host install echobot01@chat.example.org ./echo --password-file echo.pw",
    );
  const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
  const config = await loadHostConfig(hostPaths(dataDir).config, dataDir);
  const paths = hostPaths(dataDir).bot(addr);

  if (values.rollback) {
    if (!existsSync(paths.previous)) throw new ChatbotError("E_USAGE", `chatbot host install: ${addr} has no previous version to roll back to`);
    const swap = `${paths.current}.swap`;
    await renameDurable([
      [paths.current, swap],
      [paths.previous, paths.current],
      [swap, paths.previous],
    ]);
    const { manifest } = await readBundleFolder(paths.current, config);
    io.stdout(`rolled back ${addr} to ${manifest.name} ${manifest.version}\n`);
    return EXIT.ok;
  }

  const isNew = !existsSync(paths.config);
  if (isNew && !values["password-file"])
    throw new ChatbotError("E_USAGE", "chatbot host install: a new bot needs --password-file FILE with its account's password");
  const password = values["password-file"] === undefined ? undefined : (await readFile(resolve(io.cwd, values["password-file"]), "utf8")).trim();
  const name = values.name;

  if (values["from-account"]) {
    if (positionals[1] !== undefined)
      throw new ChatbotError("E_USAGE", "chatbot host install: --from-account takes no bot folder: the bot comes from the account");
    const { DeployWatcher } = await import("../../service/deploy-watcher.js");
    const { openDeployMailbox } = await import("../../deploy/imap-mailbox.js");
    const log = (line: { event: string } & Record<string, unknown>) => io.stderr(`${JSON.stringify(line)}\n`);
    const watcher = new DeployWatcher({ dataDir, config, clock: { now: Date.now }, log, openMailbox: openDeployMailbox });
    const outcomes = await watcher.checkAccount(addr, { ...(isNew && password !== undefined ? { password } : {}), ...(name === undefined ? {} : { name }) });
    if (outcomes.length === 0) {
      io.stdout(`no deploy waiting in the ChatbotInstall folder of ${addr} (the author runs 'chatbot deploy --addr ${addr}')\n`);
      return isNew ? EXIT.noInput : EXIT.ok;
    }
    for (const outcome of outcomes) {
      if (outcome.status === "installed")
        io.stdout(
          `installed ${outcome.name} ${outcome.version} for ${addr} from the account${outcome.upgrade ? " (upgrade; the previous version is kept)" : ""}\n  author   ${outcome.author}\n`,
        );
      else if (outcome.status === "unchanged") io.stdout(`${addr} already runs this bundle (${outcome.version}); deploy message removed\n`);
      else if (outcome.status === "refused") io.stdout(`refused a deploy for ${addr} (moved to ChatbotInstall/Refused): ${outcome.reason}\n`);
      else io.stdout(`${addr}: ${outcome.status} by its author's deploy\n`);
    }
    return outcomes.some((o) => o.status !== "refused") ? EXIT.ok : EXIT.dataError;
  }

  if (values["host-bot"]) {
    if (positionals[1] !== undefined) throw new ChatbotError("E_USAGE", "chatbot host install: --host-bot takes no bot folder: the bundle ships with chatbot");
    const { installHostBot } = await import("../../service/host-bot.js");
    const result = await installHostBot(dataDir, config, addr, { ...(password === undefined ? {} : { password }), name: name ?? "Relay bot host" });
    io.stdout(
      `installed the relay bot host ${result.manifest.name} ${result.manifest.version} at ${addr}${result.upgrade ? " (upgrade)" : ""}; host.json hostBot is ${addr}
` +
        `  authors verify it with: chatbot host qr ${addr}
`,
    );
    return EXIT.ok;
  }

  const source = positionals[1];
  if (!source)
    throw new ChatbotError("E_USAGE", "chatbot host install: give the bot folder (with dist/ from 'chatbot build') after the address, or --from-account");
  const dist = existsSync(join(resolve(io.cwd, source), "dist", "chatbot.json")) ? join(resolve(io.cwd, source), "dist") : resolve(io.cwd, source);
  const result = await installBundle(dataDir, config, addr, dist, {
    ...(password === undefined ? {} : { password }),
    ...(name === undefined ? {} : { name }),
  }).catch((error: unknown) => {
    if (error instanceof ChatbotError && error.code === "E_USAGE") throw new ChatbotError("E_USAGE", `chatbot host install: ${error.message}`);
    throw error;
  });
  const { manifest } = result;
  io.stdout(
    `installed ${manifest.name} ${manifest.version} for ${addr}${result.upgrade ? " (upgrade; the previous version is kept)" : ""}\n` +
      `  author   ${manifest.author.name} <${manifest.author.contact}>\n` +
      (result.pendingOrigins.length ? `  origins  waiting for approval: ${result.pendingOrigins.join(", ")}\n` : ""),
  );
  return EXIT.ok;
}

export const hostInstallCommand: Command = {
  path: ["host", "install"],
  summary: "install, upgrade or roll back a built bot (from a folder or from its account)",
  help: HELP,
  run,
};
