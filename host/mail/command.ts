// `/name args` at the start of a message: the command convention of Delta Chat bots.
import type { Command } from "../../std/contract.js";

// Name: letters, digits, _ and -, up to 32; an optional "@botname" suffix (group convention) is dropped.
const COMMAND = /^\/([A-Za-z0-9_-]{1,32})(?:@\S+)?(?:\s+([\s\S]*))?$/;

/** The command at the start of `text`, or undefined when the text is not a command. */
export function parseCommand(text: string): Command | undefined {
  const match = COMMAND.exec(text.trim());
  if (!match) return undefined;
  return { name: (match[1] ?? "").toLowerCase(), args: (match[2] ?? "").trim() };
}
