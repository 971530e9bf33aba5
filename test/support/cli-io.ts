// A CliIo that records what a command prints, for CLI tests.
import type { CliIo } from "../../host/cli/command.js";

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
