// `chatbot build [dir]`: bundle a bot folder into dist/ (bot.js, bot.js.map, chatbot.json).
import { relative, resolve } from "node:path";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";
import { buildBot } from "../../../bundler/build.js";

const HELP = `Usage: chatbot build [dir] [--out-dir DIR] [--json]

Bundle the bot in [dir] (default: the current folder) into one script for the sandbox.
Reads chatbot.json, bundles its "entry" with chatbot/std and any npm packages installed in
the bot folder, and writes:
  dist/bot.js        the bundle the host runs
  dist/bot.js.map    its source map (stack traces point into your .ts files)
  dist/chatbot.json  the checked manifest, with the bundle's size and sha256

The build fails on Node built-ins (node:fs, …), imports from outside the bot folder,
an invalid manifest, or a bundle above the host's size limit.

Options:
  --out-dir DIR  output folder (default: <dir>/dist)
  --json         print the build result as JSON
  -h, --help     show this help

Example:
  chatbot build my-bot
`;

/** Placeholder contacts from the templates that should be replaced before publishing. */
const PLACEHOLDER_CONTACT = /@example\.(org|com|net)$/;

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs("build", args, { "out-dir": { type: "string" }, json: { type: "boolean" } }, 1);
  const dir = resolve(io.cwd, positionals[0] ?? ".");
  const outDir = values["out-dir"] === undefined ? undefined : resolve(io.cwd, values["out-dir"]);
  const result = await buildBot(dir, outDir === undefined ? {} : { outDir });
  for (const warning of result.warnings) io.stderr(`warning: ${warning}\n`);
  if (PLACEHOLDER_CONTACT.test(result.manifest.author.contact)) {
    io.stderr(`warning: author.contact is still the placeholder "${result.manifest.author.contact}"; put your own before you publish\n`);
  }
  if (values.json) {
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT.ok;
  }
  const shown = relative(io.cwd, result.bundlePath) || result.bundlePath;
  io.stdout(`built ${result.manifest.name} ${result.manifest.version}: ${shown} (${result.bundleBytes} bytes, sha256 ${result.sha256.slice(0, 12)}…)\n`);
  return EXIT.ok;
}

export const buildCommand: Command = {
  path: ["build"],
  summary: "bundle a bot folder into dist/bot.js",
  help: HELP,
  run,
};
