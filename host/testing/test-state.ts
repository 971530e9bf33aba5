// The in-memory bot.state of a test bot: JSON values by key, stored as the JSON text the sandbox
// reads and writes (RunRequest.state), so a test sees exactly what the bot would.
import { ChatbotError } from "../../core/errors.js";
import type { TestBot } from "./api.js";

/** The test's view of the state, plus what the runner needs. */
export interface TestState {
  view: TestBot["state"];
  /** A copy of key → JSON text for one event. */
  snapshot(): Record<string, string>;
  /** Replace everything with the state an ok event ended with. */
  replace(next: Record<string, string>): void;
}

/** A state store starting with `initial` (key → any JSON value). */
export function createTestState(initial: Record<string, unknown>): TestState {
  let entries: Record<string, string> = {};
  const set = (key: string, value: unknown): void => {
    const json = JSON.stringify(value);
    if (json === undefined) throw new ChatbotError("E_USAGE", `chatbot/testing: state ${JSON.stringify(key)} must be a JSON value, got ${typeof value}`);
    entries[key] = json;
  };
  for (const [key, value] of Object.entries(initial)) set(key, value);
  return {
    view: {
      get: <T>(key: string) => (Object.hasOwn(entries, key) ? (JSON.parse(entries[key]!) as T) : undefined),
      set,
      delete: (key: string) => {
        delete entries[key];
      },
      clear: () => {
        entries = {};
      },
      all: () => Object.fromEntries(Object.entries(entries).map(([key, json]) => [key, JSON.parse(json) as unknown])),
    },
    snapshot: () => ({ ...entries }),
    replace: (next) => {
      entries = { ...next };
    },
  };
}
