// Running one command: `--help` prints its help; errors map to exit codes. Shared by the `chatbot`
// binary (main.ts) and the bundled pipe door (deliver-entry.ts).
import { EXIT, type CliIo, type Command } from "./command.js";
import { isChatbotError } from "../../core/errors.js";

/** Run `command` with its arguments (the words after the command's path) and return the exit code. */
export async function runCommand(command: Command, rest: readonly string[], io: CliIo): Promise<number> {
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(command.help.endsWith("\n") ? command.help : `${command.help}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (isChatbotError(error)) {
      io.stderr(`error ${error.code}: ${error.message}\n`);
      if (error.code === "E_USAGE") return EXIT.usage;
      if (error.code === "E_NOT_FOUND") return EXIT.noInput;
      if (error.code === "E_IMAP_AUTH") return EXIT.noPerm;
      // The bot's code crashed the sandbox runner: the bot's failure (like 1 and 2), not "try later".
      if (error.code === "E_RUNNER") return EXIT.runnerCrash;
      if (error.who === "author" || error.who === "sender") return EXIT.dataError;
      if (error.who === "retry") return EXIT.tempFail;
      return EXIT.software;
    }
    io.stderr(`chatbot: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.software;
  }
}

/**
 * Run `command` as this process's program (a bundled entry: deliver-entry.ts, pipeline-entry.ts):
 * its arguments are the process's, after the command's own words when they lead (so
 * `node FILE host deliver …` and `node FILE …` are the same); the exit code is set when it ends.
 */
export function runAsProgram(command: Command): void {
  const args = process.argv.slice(2);
  const rest = command.path.every((word, i) => args[i] === word) ? args.slice(command.path.length) : args;
  runCommand(command, rest, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
  }).then((code) => {
    process.exitCode = code;
  });
}
