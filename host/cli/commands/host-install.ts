// `chatbot host install ADDR DIR`: install (or upgrade, or roll back) a built bot for an account.
import { cp, readFile, rename, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ChatbotError } from "../../errors.js";
import { loadHostConfig } from "../../service/host-config.js";
import { readBundleFolder, type BotSettings } from "../../service/installed-bots.js";
import { dataDirFrom, hostPaths } from "../../service/paths.js";
import { readJsonFile, writeJsonFile, writePrivateFile } from "../../storage/json-file.js";
import { openBotAccount } from "../../wire/bot-account.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

const HELP = `Usage: chatbot host install ADDR DIR --password-file FILE [--name NAME] [--data-dir DIR]
       chatbot host install ADDR --rollback [--data-dir DIR]

Install the bot built in DIR (its dist/ folder, made by 'chatbot build') for the account ADDR,
or upgrade it: the version before is kept for --rollback. The manifest is checked against this
host's ceilings and the bundle against its sha256. Prints the author's contact: the person to
reach about this bot.

Options:
  --password-file FILE  the account's password (stored 0600; the host submits mail as ADDR)
  --name NAME           the name people see for the bot (default: the manifest's name)
  --rollback            go back to the previous version
  --data-dir DIR        the host's data directory (default: $CHATBOT_DATA_DIR or /var/lib/chatbot)
  -h, --help            show this help

Example:
  chatbot host install echobot01@chat.example.org ./echo --password-file echo.pw
`;

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "host install",
    args,
    { "password-file": { type: "string" }, name: { type: "string" }, rollback: { type: "boolean" }, "data-dir": { type: "string" } },
    2,
  );
  const addr = positionals[0]?.toLowerCase();
  if (!addr || !/^[^\s@/\\]+@[^\s@/\\]+$/.test(addr)) throw new ChatbotError("E_USAGE", "chatbot host install: give the bot account's address first, e.g. chatbot host install echobot01@chat.example.org ./echo --password-file echo.pw");
  const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
  const config = await loadHostConfig(hostPaths(dataDir).config, dataDir);
  const paths = hostPaths(dataDir).bot(addr);

  if (values.rollback) {
    if (!existsSync(paths.previous)) throw new ChatbotError("E_USAGE", `chatbot host install: ${addr} has no previous version to roll back to`);
    const swap = `${paths.current}.swap`;
    await rename(paths.current, swap);
    await rename(paths.previous, paths.current);
    await rename(swap, paths.previous);
    const { manifest } = await readBundleFolder(paths.current, config);
    io.stdout(`rolled back ${addr} to ${manifest.name} ${manifest.version}\n`);
    return EXIT.ok;
  }

  const source = positionals[1];
  if (!source) throw new ChatbotError("E_USAGE", "chatbot host install: give the bot folder (with dist/ from 'chatbot build') after the address");
  const dist = existsSync(join(resolve(io.cwd, source), "dist", "chatbot.json")) ? join(resolve(io.cwd, source), "dist") : resolve(io.cwd, source);
  const { manifest } = await readBundleFolder(dist, config);
  const old = await readJsonFile<BotSettings | undefined>(paths.config, undefined);
  if (!old && !values["password-file"]) throw new ChatbotError("E_USAGE", "chatbot host install: a new bot needs --password-file FILE with its account's password");

  await openBotAccount(dataDir, addr, values.name ?? old?.name ?? manifest.name); // creates the key and folder (0700)
  if (values["password-file"]) {
    const password = (await readFile(resolve(io.cwd, values["password-file"]), "utf8")).trim();
    if (password.length < 9) throw new ChatbotError("E_USAGE", "chatbot host install: the password must have at least 9 characters (chatmail's rule)");
    await writePrivateFile(paths.password, Buffer.from(password));
  }
  // Upgrade: the installed version becomes the previous one.
  if (existsSync(paths.current)) {
    await rm(paths.previous, { recursive: true, force: true });
    await rename(paths.current, paths.previous);
  }
  await cp(dist, paths.current, { recursive: true });
  const settings: BotSettings = { name: values.name ?? old?.name ?? manifest.name, enabled: old?.enabled ?? true, approvedOrigins: old?.approvedOrigins ?? [], installedAt: Date.now() };
  await writeJsonFile(paths.config, settings);
  const pending = manifest.origins.filter((o) => !settings.approvedOrigins.includes(o) && !config.approvedOrigins.includes(o));
  io.stdout(
    `installed ${manifest.name} ${manifest.version} for ${addr}${old ? " (upgrade; the previous version is kept)" : ""}\n` +
      `  author   ${manifest.author.name} <${manifest.author.contact}>\n` +
      (pending.length ? `  origins  waiting for approval: ${pending.join(", ")}\n` : ""),
  );
  return EXIT.ok;
}

export const hostInstallCommand: Command = { path: ["host", "install"], summary: "install, upgrade or roll back a built bot for an account", help: HELP, run };
