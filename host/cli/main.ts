#!/usr/bin/env node
// The `chatbot` binary: finds the command, runs it, maps errors to exit codes.
// The command registry is imported lazily: it pulls in esbuild, QuickJS, openpgp and the mail
// stack. `host deliver` runs once per incoming mail, so it is dispatched first, loading only its own
// module (node: built-ins and the spool; DESIGN §2), and never pays for the rest. Quicker still is
// lib/deliver.cjs (deliver-entry.ts bundled into one file by `make build`), which the Postfix pipe
// command should name.
import { EXIT, type CliIo, type Command } from "./command.js";
import { runCommand } from "./run-command.js";
import { pathToFileURL } from "node:url";
import { realpathSync } from "node:fs";

/** The top-level help: every command with its one-line summary. */
function topLevelHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(" ").length));
  const lines = commands.map((c) => `  ${c.path.join(" ").padEnd(width)}  ${c.summary}`);
  return ["Usage: chatbot <command> [options]", "", "Commands:", ...lines, "", "Run 'chatbot <command> --help' for a command's options.", ""].join("\n");
}

/** Find the longest command path that prefixes argv. */
function findCommand(commands: readonly Command[], argv: readonly string[]) {
  let best: Command | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, i) => argv[i] === word);
    if (matches && (!best || command.path.length > best.path.length)) best = command;
  }
  return best;
}

/** Commands loaded on their own, without the registry, because their start-up time matters. */
const FAST_COMMANDS: ReadonlyArray<{ path: readonly string[]; load: () => Promise<Command> }> = [
  { path: ["host", "deliver"], load: async () => (await import("./commands/host-deliver.js")).hostDeliverCommand },
];

/** Run the CLI with the given arguments (without `node` and the script) and return the exit code. */
export async function runCli(argv: readonly string[], io: CliIo, commands?: readonly Command[]): Promise<number> {
  if (commands === undefined) {
    const fast = FAST_COMMANDS.find((c) => c.path.every((word, i) => argv[i] === word));
    if (fast) return runCommand(await fast.load(), argv.slice(fast.path.length), io);
    commands = (await import("./commands/index.js")).COMMANDS;
  }
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    io.stdout(topLevelHelp(commands));
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const command = findCommand(commands, argv);
  if (!command) {
    io.stderr(`chatbot: unknown command '${argv.join(" ")}'. Run 'chatbot --help' for the list.\n`);
    return EXIT.usage;
  }
  return runCommand(command, argv.slice(command.path.length), io);
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
