#!/usr/bin/env node
// The `chatbot` binary: finds the command, runs it, maps errors to exit codes.
// Only the command that runs is imported (commands/index.ts): all of them together pull in esbuild,
// QuickJS, undici, openpgp and the mail stack. `host deliver` runs once per incoming mail and loads
// only its own module (node: built-ins and the spool; DESIGN §2). Quicker still is lib/deliver.cjs
// (deliver-entry.ts bundled into one file by `make build`), which the Postfix pipe command should name.
import { EXIT, type CliIo, type Command } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { runCommand } from "./run-command.js";
import { pathToFileURL } from "node:url";
import { realpathSync } from "node:fs";

/** The top-level help: every command with its one-line summary. */
function topLevelHelp(commands: ReadonlyArray<Pick<Command, "path" | "summary">>): string {
  const width = Math.max(...commands.map((c) => c.path.join(" ").length));
  const lines = commands.map((c) => `  ${c.path.join(" ").padEnd(width)}  ${c.summary}`);
  return ["Usage: chatbot <command> [options]", "", "Commands:", ...lines, "", "Run 'chatbot <command> --help' for a command's options.", ""].join("\n");
}

/** Find the longest command path that prefixes argv. */
function findCommand<T extends { path: readonly string[] }>(commands: readonly T[], argv: readonly string[]): T | undefined {
  let best: T | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, i) => argv[i] === word);
    if (matches && (!best || command.path.length > best.path.length)) best = command;
  }
  return best;
}

/** Run the CLI with the given arguments (without `node` and the script) and return the exit code. */
export async function runCli(argv: readonly string[], io: CliIo, commands?: readonly Command[]): Promise<number> {
  const entries = commands?.map((command) => ({ path: command.path, summary: command.summary, load: async () => command })) ?? COMMANDS;
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    io.stdout(topLevelHelp(entries));
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const entry = findCommand(entries, argv);
  if (!entry) {
    io.stderr(`chatbot: unknown command '${argv.join(" ")}'. Run 'chatbot --help' for the list.\n`);
    return EXIT.usage;
  }
  return runCommand(await entry.load(), argv.slice(entry.path.length), io);
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMainModule()) {
  const io: CliIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
  };
  runCli(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
