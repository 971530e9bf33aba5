// Parsing untrusted JSON text (log lines, spool meta files) that must be one JSON object.

/** The object in `text`, or undefined when it is not valid JSON or not a plain object (an array, null, a number…). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
