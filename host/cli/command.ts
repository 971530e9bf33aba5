// The shape of one CLI command. Each command lives in its own file under commands/.
import type { Executor } from "../executor/executor.js";

/** Where a command writes; injected so tests capture output without a terminal. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The working directory paths are resolved against. */
  cwd: string;
  /** Standard input for commands that read it (`host deliver`); process.stdin when absent. */
  stdin?: AsyncIterable<Uint8Array>;
  /**
   * The sandbox `chatbot run` and `dev` run events in. When absent (the binary), each command starts
   * its own and stops it when done; tests pass one to share its runner (a runner's start costs ~0.6 s of CPU).
   */
  executor?: Pick<Executor, "run">;
}

/** One subcommand: `run` returns the process exit code. */
export interface Command {
  /** Words after `chatbot`, e.g. ["build"] or ["host", "deliver"]. */
  path: readonly string[];
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text: usage line, options, an example. */
  help: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** Exit codes shared by all commands (sysexits where one fits). */
export const EXIT = Object.freeze({
  ok: 0,
  botError: 1,
  limitHit: 2,
  /** `chatbot run`: the sandbox runner crashed on the bot's event (E_RUNNER) — the bot's failure, like 1 and 2. */
  runnerCrash: 3,
  usage: 64,
  dataError: 65,
  noInput: 66,
  software: 70,
  tempFail: 75,
  noPerm: 77,
});
