// A CliIo that records what a command prints, for CLI tests.
import type { CliIo } from "../../host/cli/command.js";
import { runCli } from "../../host/cli/main.js";

/** CliIo plus the text written to stdout (`out`) and stderr (`err`). */
export interface Captured extends CliIo {
  out: string;
  err: string;
}

/** A fresh capturing io whose commands resolve paths against `cwd`. */
export function captureIo(cwd: string): Captured {
  const io: Captured = {
    out: "",
    err: "",
    cwd,
    stdout: (text) => {
      io.out += text;
    },
    stderr: (text) => {
      io.err += text;
    },
  };
  return io;
}

/** Runs `chatbot ARGS` in process with `io`; a command that fails throws with what it wrote to stderr (set-up steps). */
export function cliOrThrow(io: Captured): (args: string[]) => Promise<void> {
  return async (args) => {
    if ((await runCli(args, io)) !== 0) throw new Error(`chatbot ${args.join(" ")} failed: ${io.err}`);
  };
}
