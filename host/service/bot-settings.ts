// <data>/bots/<addr>/bot.json: the operator's settings for one bot, as one valibot schema (its
// type and its checks). Read where the service loads a bot, so a hand-edited file with a wrong
// type is refused with its path and value instead of running a bot on a cast it does not match.
import * as v from "valibot";
import { got, parseOrThrow, strictObjectMessage } from "../../core/schema-issues.js";
import { readJsonFile } from "../storage/json-file.js";

const entries = {
  /** The name people see. */
  name: v.string(got("must be a string (the name people see)")),
  enabled: v.boolean(got("must be true or false")),
  /** Fetch origins the operator approved for this bot (only those its manifest asks for count). */
  approvedOrigins: v.array(v.string(got("must be an origin string")), got("must be a list of origins")),
  /** When it was installed, ms since the epoch. */
  installedAt: v.number(got("must be a number (ms since the epoch)")),
  /** Why the operator disabled it (`host bots disable --reason`); gone when it is enabled again. */
  disabledReason: v.optional(v.string(got("must be a string (why the operator disabled the bot)"))),
};
const REQUIRED = "is required (chatbot host install writes it)";

// Unknown keys are kept (looseObject): `chatbot host bots …` edits the file in place and keeps them.
const botSettingsSchema = v.looseObject(
  entries,
  strictObjectMessage(Object.keys(entries), Object.fromEntries(Object.keys(entries).map((key) => [key, REQUIRED]))),
);

/** <data>/bots/<addr>/bot.json: the operator's settings for one bot. */
export type BotSettings = v.InferOutput<typeof botSettingsSchema>;

/** Check a bot.json value (`file` names it in the error): E_CONFIG with each problem's key path. */
export function parseBotSettings(raw: unknown, file: string): BotSettings {
  return parseOrThrow(botSettingsSchema, raw, file, "E_CONFIG");
}

/** Read and check `file`; undefined when there is none (no bot installed there). */
export async function readBotSettings(file: string): Promise<BotSettings | undefined> {
  const raw = await readJsonFile<unknown>(file, undefined);
  return raw === undefined ? undefined : parseBotSettings(raw, file);
}
