// Schema problems as our error lines (issue 11 part 6). A file's shape is one valibot schema whose
// messages say what is wrong with a value; this module adds where: the key path of each problem
// ("limits.perUser.mailsPerDay", "origins[1]"), and the lines for the problems only an object knows
// (an unknown key, a missing key).
import * as v from "valibot";
import { ChatbotError, type ErrorCode } from "./errors.js";

/** Options of a strict object: what each required key holds, said when it is missing. */
export interface KeyHints {
  readonly [key: string]: string;
}

/** One problem: the key path ("" for the whole value) and what is wrong, or a line of its own. */
export type Problem = { path: string; text: string } | { line: string };

type AnyIssue = v.BaseIssue<unknown>;

/** The dotted key path of an issue ("a.b[2].c"), up to `end` path items. */
function issuePath(issue: AnyIssue, end = issue.path?.length ?? 0): string {
  let text = "";
  for (const item of (issue.path ?? []).slice(0, end)) {
    const key = (item as { key?: unknown }).key;
    text += typeof key === "number" ? `[${key}]` : text === "" ? String(key) : `.${String(key)}`;
  }
  return text;
}

/** How an unknown key reads: its own line listing the allowed keys (the manifest), or a problem at its path. */
export type UnknownKeyStyle = "allowed-keys" | "at-path";

/**
 * The problems of a failed parse, one per issue, in the schema's order. With "allowed-keys" a
 * strict object's unknown key becomes a line of its own with the keys it allows (its message);
 * every other issue is its message at its key path.
 */
export function problemsOf(issues: readonly AnyIssue[], unknownKeys: UnknownKeyStyle = "allowed-keys"): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (unknownKeys === "allowed-keys" && issue.type === "strict_object" && issue.expected === "never") {
      // The unknown key is the last path item; the strict object's message is its allowed keys.
      const prefix = issuePath(issue, issue.path!.length - 1);
      problems.push({ line: `unknown key "${issuePath(issue)}" (allowed${prefix ? ` in "${prefix}"` : ""}: ${issue.message})` });
      continue;
    }
    problems.push({ path: issuePath(issue), text: issue.message });
  }
  return problems;
}

/** A short, safe rendering of an offending value and its JSON type for error messages. */
export function describeValue(value: unknown): string {
  const type = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  let text = JSON.stringify(value) ?? String(value);
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return type === "null" ? "null" : `${text} (${type})`;
}

/** A message function "<text>, got <value>": every problem names the value it found. */
export function got(text: string): (issue: AnyIssue) => string {
  return (issue) => `${text}, got ${describeValue(issue.input)}`;
}

/**
 * The message of a strict object's own issues: for an unknown key its allowed keys (or
 * `unknownKey`, said at the key's path), the key's hint for a missing one ("is required (…)"),
 * and "must be an object" for any other value.
 */
export function strictObjectMessage(keys: readonly string[], hints: KeyHints, unknownKey?: string): (issue: AnyIssue) => string {
  return (issue) => {
    if (issue.expected === "never") return unknownKey ?? keys.join(", ");
    const missing = issue.path?.at(-1) as { origin?: string; key?: unknown } | undefined;
    if (missing?.origin === "key" && issue.input === undefined) {
      const hint = hints[String(missing.key)];
      return hint === undefined ? "is required" : hint;
    }
    return `must be an object, got ${describeValue(issue.input)}`;
  };
}

/**
 * A strict object: unknown keys are problems with their path, a missing key says what it holds
 * (`hints`). A list is refused first: valibot's objects would take one as an object with keys
 * "0", "1", …. `unknownKey`: the words for an unknown key at its path (default: list the allowed keys).
 */
export function strict<const E extends v.ObjectEntries>(entries: E, hints: KeyHints = {}, unknownKey?: string) {
  return v.pipe(
    v.unknown(),
    v.check((value) => !Array.isArray(value), got("must be an object")),
    v.strictObject(entries, strictObjectMessage(Object.keys(entries), hints, unknownKey)),
  );
}

/** Freeze `value` and everything in it (a parsed file is read-only all the way down). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/**
 * `raw` as `schema`'s output, or a ChatbotError `code` whose message has one line per problem,
 * each starting with `file` and naming the key path. One problem per key (abortPipeEarly), every
 * key checked: whoever fixes the file fixes it in one pass.
 */
export function parseOrThrow<S extends v.GenericSchema>(
  schema: S,
  raw: unknown,
  file: string,
  code: ErrorCode,
  unknownKeys: UnknownKeyStyle = "allowed-keys",
): v.InferOutput<S> {
  const result = v.safeParse(schema, raw, { abortPipeEarly: true });
  if (result.success) return result.output;
  const lines = problemsOf(result.issues, unknownKeys).map((problem) =>
    "line" in problem ? `${file}: ${problem.line}` : problem.path === "" ? `${file}: ${problem.text}` : `${file}: "${problem.path}" ${problem.text}`,
  );
  throw new ChatbotError(code, lines.join("\n"));
}
