// Access to the functions the host installed in this isolate.
import { HOST_GLOBAL, type HostFunctions } from "./contract.js";

/** The host's functions; throws a clear error when the bot runs outside chatbot's sandbox. */
export function host(): HostFunctions {
  const found = (globalThis as Record<string, unknown>)[HOST_GLOBAL];
  if (found === undefined) {
    throw new Error("chatbot/std: not running inside the chatbot sandbox (use `chatbot run` or `chatbot dev`)");
  }
  return found as HostFunctions;
}

/** An Error carrying the host's stable code (the host's messages look like `E_CODE: text`). */
export class BotError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "BotError";
    this.code = code;
  }
}

/** Turn an error thrown by a host function into a BotError with its code. */
export function asBotError(error: unknown): unknown {
  if (error instanceof Error) {
    const match = /^(E_[A-Z0-9_]+): (.*)$/s.exec(error.message);
    if (match) return new BotError(match[1] ?? "E_HOST", match[2] ?? "");
  }
  return error;
}
