// The bot manifest `chatbot.json` (DESIGN §3.2): parsed once here, at the edge (STYLE 8).
// Unknown keys are errors with their path, defaults are filled, the result is frozen, and
// every problem is reported at once so an author fixes the file in one pass.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ChatbotError } from "./errors.js";
import { DEFAULT_CEILINGS, describeValue, manifestSchema, type Manifest, type ManifestCeilings } from "./manifest-schema.js";
import { deepFreeze, parseOrThrow } from "./schema-issues.js";

export { DEFAULT_CEILINGS, describeValue, SCHEDULES } from "./manifest-schema.js";
export type { BundleInfo, Manifest, ManifestCeilings, ManifestEventLimitKey, ManifestLimits, Schedule } from "./manifest-schema.js";

/** File name of the manifest inside a bot folder (and inside its dist/). */
export const MANIFEST_FILE = "chatbot.json";

// One schema per set of ceilings: the host parses every installed bot's manifest with the same one.
const schemas = new WeakMap<ManifestCeilings, ReturnType<typeof manifestSchema>>();

function schemaFor(ceilings: ManifestCeilings): ReturnType<typeof manifestSchema> {
  let schema = schemas.get(ceilings);
  if (schema === undefined) schemas.set(ceilings, (schema = manifestSchema(ceilings)));
  return schema;
}

/**
 * Validate a manifest's JSON value: throws ChatbotError E_MANIFEST listing every problem (each line
 * starts with `file`), or returns the frozen manifest with defaults filled.
 */
export function parseManifest(raw: unknown, file: string, ceilings: ManifestCeilings = DEFAULT_CEILINGS): Manifest {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ChatbotError("E_MANIFEST", `${file}: must be a JSON object like {"name": "echo", ...}, got ${describeValue(raw)}`);
  }
  return deepFreeze(parseOrThrow(schemaFor(ceilings), raw, file, "E_MANIFEST"));
}

/** The 1-based line and column of a character offset in a text. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/**
 * Read and validate `<dir>/chatbot.json`: E_NOT_FOUND when it is missing, E_MANIFEST (with
 * line:column where JSON.parse tells the offset) when it is not JSON or not a valid manifest.
 */
export async function readManifest(dir: string, ceilings: ManifestCeilings = DEFAULT_CEILINGS): Promise<Manifest> {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new ChatbotError("E_NOT_FOUND", `${file}: no manifest here; is ${dir} a bot folder? ('chatbot new <dir>' creates one)`);
    }
    throw new ChatbotError("E_MANIFEST", `${file}: cannot read: ${(error as Error).message}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    const where = position === undefined ? (message.includes("end of JSON") ? lineColumn(text, text.length) : undefined) : lineColumn(text, Number(position));
    const at = where ? `:${where.line}:${where.column}` : "";
    throw new ChatbotError("E_MANIFEST", `${file}${at}: not valid JSON: ${message}`, { cause: error });
  }
  return parseManifest(raw, file, ceilings);
}
