// `chatbot new <dir>`: start a bot from a template folder shipped with the package.
import { existsSync, readdirSync, statSync } from "node:fs";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import { ChatbotError } from "../../../core/errors.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";
import { MANIFEST_FILE, parseManifest } from "../../../core/manifest.js";
import { PACKAGE_NAME, packageRoot, templatesDir } from "../../../bundler/package-root.js";

/** This package's version (its package.json), the lowest the new bot accepts. */
async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}

const DEFAULT_TEMPLATE = "echo";
const NAME_RULE = /^[a-z0-9][a-z0-9-_.]{0,63}$/;
// npm does not publish files named .gitignore, so an installed template may lack it: write it then.
const GITIGNORE = "dist/\nnode_modules/\n";

const HELP = `Usage: chatbot new <dir> [--template NAME] [--name NAME] [--link] [--json]
       chatbot new --list [--json]

Create a bot folder from a template: a manifest (chatbot.json), bot.ts, its tests
(bot.test.ts, run by npm test), package.json, tsconfig.json, README.md and sample.eml.
<dir> must not exist or be empty.

Options:
  --template NAME  template to copy (default: ${DEFAULT_TEMPLATE}); --list shows them all
  --list           list the templates with what each bot does
  --name NAME      the bot's name in chatbot.json and package.json: 1-64 of a-z 0-9 - _ .
                   (default: the folder's name, lowercased, other characters replaced by -)
  --link           depend on this very installation (file:PATH) instead of the registry's
                   ${PACKAGE_NAME} (for working inside a checkout of chatbot)
  --json           print {"dir", "template", "name"} as JSON instead of the next steps
                   (with --list: [{"name", "description", "schedule"}])
  -h, --help       show this help

The bot's package.json gets "chatbot": "npm:${PACKAGE_NAME}@^VERSION" (this package's
version): the bot imports chatbot/std and chatbot/testing and runs npx chatbot whatever the
package's registry name.

Example:
  chatbot new weather-bot
  cd weather-bot && npm install && npm test && npx chatbot build && npx chatbot run --mail sample.eml
`;

/** A valid bot name made from a folder name: lowercase, invalid characters become "-". */
export function sanitizeBotName(folderName: string): string {
  const name = folderName
    .toLowerCase()
    .replace(/[^a-z0-9-_.]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 64)
    .replace(/[-_.]+$/, "");
  return name === "" ? "bot" : name;
}

/** The template folders that have a manifest, sorted. */
async function availableTemplates(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, MANIFEST_FILE)))
    .map((e) => e.name)
    .sort();
}

/** Each template's name, its manifest's description and schedule. */
async function describeTemplates(root: string): Promise<Array<{ name: string; description: string; schedule: string }>> {
  return Promise.all(
    (await availableTemplates(root)).map(async (name) => {
      const manifest = JSON.parse(await readFile(join(root, name, MANIFEST_FILE), "utf8")) as { description?: string; schedule?: string };
      return { name, description: manifest.description ?? "", schedule: manifest.schedule ?? "none" };
    }),
  );
}

/** Refuse anything but a missing folder or an empty one. */
function checkTarget(target: string, shown: string): void {
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) {
    throw new ChatbotError("E_USAGE", `chatbot new: ${shown} exists and is not a folder; choose a new folder name`);
  }
  const entries = readdirSync(target);
  if (entries.length > 0) {
    throw new ChatbotError(
      "E_USAGE",
      `chatbot new: ${shown} is not empty (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", …" : ""}); choose a new or empty folder so nothing is overwritten`,
    );
  }
}

/** Read a JSON file of the copied template, change it, write it back with the same layout. */
async function editJson(file: string, edit: (value: Record<string, unknown>) => void): Promise<void> {
  if (!existsSync(file)) return;
  const value = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  edit(value);
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "new",
    args,
    { template: { type: "string" }, name: { type: "string" }, json: { type: "boolean" }, list: { type: "boolean" }, link: { type: "boolean" } },
    1,
  );
  if (values.list) {
    const described = await describeTemplates(templatesDir());
    if (values.json) io.stdout(`${JSON.stringify(described)}\n`);
    else {
      const width = Math.max(...described.map((t) => t.name.length));
      io.stdout(`${described.map((t) => `${t.name.padEnd(width)}  ${t.description}${t.schedule === "none" ? "" : ` (ticks ${t.schedule})`}`).join("\n")}\n`);
    }
    return EXIT.ok;
  }
  const dir = positionals[0];
  if (dir === undefined) throw new ChatbotError("E_USAGE", "chatbot new: missing <dir>. See 'chatbot new --help'.");
  const template = values.template ?? DEFAULT_TEMPLATE;
  const root = templatesDir();
  const templates = await availableTemplates(root);
  if (!templates.includes(template)) {
    throw new ChatbotError("E_USAGE", `chatbot new: unknown template "${template}"; available: ${templates.join(", ")}`);
  }
  const target = resolve(io.cwd, dir);
  const shown = relative(io.cwd, target) || ".";
  const name = values.name ?? sanitizeBotName(basename(target));
  if (!NAME_RULE.test(name)) {
    throw new ChatbotError("E_USAGE", `chatbot new: --name "${name}" must be 1-64 lowercase letters, digits, "-", "_" or ".", starting with a letter or digit`);
  }
  checkTarget(target, shown);

  const source = join(root, template);
  await cp(source, target, {
    recursive: true,
    // A template tried out in place may have build output or installed packages: never copy those.
    filter: (path) => !["node_modules", "dist"].includes(basename(path)) || path === source,
  });
  await editJson(join(target, MANIFEST_FILE), (manifest) => {
    manifest.name = name;
    parseManifest(manifest, join(shown, MANIFEST_FILE));
  });
  const dependency = values.link ? `file:${packageRoot()}` : `npm:${PACKAGE_NAME}@^${await packageVersion()}`;
  await editJson(join(target, "package.json"), (pkg) => {
    pkg.name = name;
    // Under the name "chatbot" (an npm alias of the registry package, or this installation with
    // --link): the bot imports chatbot/std and chatbot/testing and runs `npx chatbot`. The name
    // "chatbot" on the public registry is another project's: a bot never installs it by accident.
    const dev = (pkg.devDependencies ?? {}) as Record<string, string>;
    dev.chatbot = dependency;
    pkg.devDependencies = dev;
  });
  await editJson(join(target, "tsconfig.json"), (tsconfig) => {
    // The in-repo mapping of chatbot/std; a user project resolves it through node_modules.
    delete tsconfig["//paths"];
    const options = tsconfig.compilerOptions as Record<string, unknown> | undefined;
    if (options) delete options.paths;
  });
  if (!existsSync(join(target, ".gitignore"))) await writeFile(join(target, ".gitignore"), GITIGNORE);

  if (values.json) {
    io.stdout(`${JSON.stringify({ dir: target, template, name })}\n`);
    return EXIT.ok;
  }
  const cdPath = isAbsolute(shown) || shown.startsWith("..") ? target : shown;
  io.stdout(
    [
      `Created bot "${name}" in ${shown} from the "${template}" template.`,
      "",
      "Next steps:",
      `  cd ${cdPath}`,
      "  npm install",
      "  npm test",
      "  npx chatbot build",
      ...(existsSync(join(target, "sample.eml")) ? ["  npx chatbot run --mail sample.eml"] : []),
      "  npx chatbot dev",
      "",
      `Before you publish, put your name and contact into "author" in ${MANIFEST_FILE}.`,
      "",
    ].join("\n"),
  );
  return EXIT.ok;
}

export const newCommand: Command = {
  path: ["new"],
  summary: "create a bot folder from a template (default: echo)",
  help: HELP,
  run,
};
