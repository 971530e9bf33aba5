// The list of all commands, in the order `chatbot --help` shows them.
import type { Command } from "../command.js";

export const COMMANDS: readonly Command[] = [];
