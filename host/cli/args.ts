// Argument parsing for commands: node:util parseArgs in strict mode, with errors that name
// the argument at fault and point to --help.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ChatbotError, errorMessage } from "../../core/errors.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parse a command's arguments; unknown options and missing values become E_USAGE errors. */
export function parseCommandArgs<O extends Options>(commandName: string, args: readonly string[], options: O, maxPositionals: number) {
  try {
    const parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    if (parsed.positionals.length > maxPositionals) {
      throw new ChatbotError(
        "E_USAGE",
        `chatbot ${commandName}: unexpected argument '${parsed.positionals[maxPositionals]}'. See 'chatbot ${commandName} --help'.`,
      );
    }
    return parsed;
  } catch (error) {
    if (error instanceof ChatbotError) throw error;
    const message = errorMessage(error);
    throw new ChatbotError("E_USAGE", `chatbot ${commandName}: ${message}. See 'chatbot ${commandName} --help'.`);
  }
}
