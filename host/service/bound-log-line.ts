// The one bound at the host's logging edge: whatever a field carries (a bot's error message, an
// address from a mail, a path), no line of the host's log is longer than LOG_LINE_MAX_BYTES. Caps
// upstream (guest errors, mail fields) keep lines short; this holds even where one was missed.
import { LOG_FIELD_MAX_CHARS, LOG_LINE_MAX_BYTES } from "../../core/limits.js";

/** A host log line: at least an event name. */
export type BoundableLine = Record<string, unknown> & { event: string };

/** `text` cut to LOG_FIELD_MAX_CHARS characters, with a note of its full length. */
function cut(text: string): string {
  return `${text.slice(0, LOG_FIELD_MAX_CHARS)}… [${text.length} characters]`;
}

/** A field's JSON, or undefined when it has none (undefined, functions) or cannot have one (cycles, BigInt). */
function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * `line` with every string field longer than LOG_FIELD_MAX_CHARS cut, and every other field whose
 * JSON is longer replaced by its cut JSON; `truncated` names the fields that were cut. If the line
 * is still longer than LOG_LINE_MAX_BYTES (as JSON with a newline and an `at` time), only its event
 * name and the names of its fields are kept. The line itself is not changed.
 */
export function boundLogLine(line: BoundableLine): BoundableLine {
  const truncated: string[] = [];
  const bounded: BoundableLine = { ...line };
  for (const [key, value] of Object.entries(line)) {
    if (typeof value === "string") {
      if (value.length > LOG_FIELD_MAX_CHARS) {
        bounded[key] = cut(value);
        truncated.push(key);
      }
    } else if (typeof value === "object" && value !== null) {
      // Only nested values can hide a long string; their JSON is measured like a string.
      const json = jsonOf(value);
      if (json === undefined || json.length > LOG_FIELD_MAX_CHARS) {
        bounded[key] = json === undefined ? "[not JSON]" : cut(json);
        truncated.push(key);
      }
    }
  }
  if (truncated.length > 0) bounded.truncated = truncated;
  // The caller adds `"at":"<ISO time>",` (36 bytes) and a newline; keys and short fields can still add up.
  const size = Buffer.byteLength(jsonOf(bounded) ?? "", "utf8") + 64;
  if (size <= LOG_LINE_MAX_BYTES) return bounded;
  return {
    event: String(line.event).slice(0, 200),
    truncated: Object.keys(line)
      .slice(0, 50)
      .map((key) => key.slice(0, 100)),
    bytes: size,
  };
}
