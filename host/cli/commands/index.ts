// The list of all commands, in the order `chatbot --help` shows them.
import type { Command } from "../command.js";
import { newCommand } from "./new.js";
import { buildCommand } from "./build.js";

export const COMMANDS: readonly Command[] = [
  newCommand,
  buildCommand,
];
