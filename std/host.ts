// Access to the functions the host installed in this isolate.
import { HOST_GLOBAL, REFUSAL_PROPERTY, type GuestErrorData, type HostFunctions } from "./contract.js";

/** The host's functions; throws a clear error when the bot runs outside chatbot's sandbox. */
export function host(): HostFunctions {
  const found = (globalThis as Record<string, unknown>)[HOST_GLOBAL];
  if (found === undefined) {
    throw new Error("chatbot/std: not running inside the chatbot sandbox (use `chatbot run` or `chatbot dev`)");
  }
  return found as HostFunctions;
}

/** An Error carrying the host's stable code and its message (GuestErrorData). */
export class BotError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "BotError";
    this.code = code;
  }
}

/** The `{ code, message }` a host function's Error carries, or undefined for any other value. */
function refusalOf(error: unknown): GuestErrorData | undefined {
  if (!(error instanceof Error)) return undefined;
  const data: unknown = (error as Error & { [REFUSAL_PROPERTY]?: unknown })[REFUSAL_PROPERTY];
  if (typeof data !== "object" || data === null) return undefined;
  const { code, message } = data as Partial<Record<keyof GuestErrorData, unknown>>;
  return typeof code === "string" && typeof message === "string" ? { code, message } : undefined;
}

/** Turn an error thrown by a host function into a BotError with its code; any other value is returned as it is. */
export function asBotError(error: unknown): unknown {
  const refusal = refusalOf(error);
  return refusal ? new BotError(refusal.code, refusal.message) : error;
}
