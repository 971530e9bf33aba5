// The bot manifest `chatbot.json` (DESIGN §3.2): parsed once here, at the edge (STYLE 8).
// Unknown keys are errors with their path, defaults are filled, the result is frozen, and
// every problem is reported at once so an author fixes the file in one pass.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ChatbotError } from "./errors.js";
import {
  DEFAULT_EVENT_LIMITS,
  DEFAULT_PER_USER_LIMITS,
  EVENT_LIMIT_FLOORS,
  MANIFEST_EVENT_LIMIT_KEYS,
  type EventLimits,
  type PerUserLimits,
} from "./limits.js";
import { checkOrigin, checkContact, checkEntry } from "./manifest-values.js";

/** File name of the manifest inside a bot folder (and inside its dist/). */
export const MANIFEST_FILE = "chatbot.json";

/** When the host wakes the bot without a mail. */
export type Schedule = "none" | "hourly" | "daily";
const SCHEDULES: readonly Schedule[] = ["none", "hourly", "daily"];

/** The event limits a manifest may lower (the rest are host-only). */
export type ManifestEventLimitKey = (typeof MANIFEST_EVENT_LIMIT_KEYS)[number];

/**
 * Limits the bot asks for. Only what the author wrote is present: the host resolves them against
 * its own ceilings at run time (`effectiveEventLimits`), so a bundle never carries the ceilings of
 * the machine it was built on.
 */
export interface ManifestLimits extends Readonly<Partial<Pick<EventLimits, ManifestEventLimitKey>>> {
  readonly perUser: Readonly<Partial<PerUserLimits>>;
}

/** What `chatbot build` records about the bundle in dist/chatbot.json. */
export interface BundleInfo {
  readonly file: string;
  /** Lowercase hex SHA-256 of the bundle's bytes. */
  readonly sha256: string;
  /** Size of the bundle in bytes. */
  readonly bytes: number;
}

/** A parsed, normalized, frozen manifest. */
export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly author: Readonly<{ name: string; contact: string }>;
  /** Entry module, relative to the bot folder, POSIX separators, never leaving the folder. */
  readonly entry: string;
  readonly description?: string;
  readonly limits: ManifestLimits;
  readonly schedule: Schedule;
  /** Origins (`https://host[:port]`) the bot asks to fetch from; the operator approves them. */
  readonly origins: readonly string[];
  /** Present only in a built manifest (dist/chatbot.json). */
  readonly bundle?: BundleInfo;
}

/** The relay operator's ceilings that manifest limits may only lower. */
export interface ManifestCeilings {
  readonly event: Readonly<EventLimits>;
  readonly perUser: Readonly<PerUserLimits>;
}

/** The seed's ceilings, used by `chatbot build` and whenever the operator set none. */
export const DEFAULT_CEILINGS: ManifestCeilings = Object.freeze({
  event: DEFAULT_EVENT_LIMITS,
  perUser: DEFAULT_PER_USER_LIMITS,
});

const NAME_PATTERN = /^[a-z0-9][a-z0-9-_.]{0,63}$/;
// Semantic Versioning 2.0.0 core `x.y.z` plus an optional pre-release; no build metadata.
const VERSION_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const PER_USER_KEYS = Object.keys(DEFAULT_PER_USER_LIMITS) as Array<keyof PerUserLimits>;

type Json = Record<string, unknown>;

/** Collects problems with their key paths; the message of the thrown error lists them all. */
class Problems {
  readonly lines: string[] = [];
  constructor(readonly file: string) {}
  add(path: string, text: string): void {
    this.lines.push(`${this.file}: "${path}" ${text}`);
  }
  raw(text: string): void {
    this.lines.push(`${this.file}: ${text}`);
  }
}

/** A short, safe rendering of an offending value and its JSON type for error messages. */
export function describeValue(value: unknown): string {
  const type = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  let text = JSON.stringify(value) ?? String(value);
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return type === "null" ? "null" : `${text} (${type})`;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function keyPath(prefix: string, key: string): string {
  return prefix === "" ? key : `${prefix}.${key}`;
}

/** Report every key of `obj` that is not in `allowed`, with its full path. */
function rejectUnknownKeys(obj: Json, allowed: readonly string[], prefix: string, problems: Problems): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      problems.raw(`unknown key "${keyPath(prefix, key)}" (allowed${prefix ? ` in "${prefix}"` : ""}: ${allowed.join(", ")})`);
    }
  }
}

/** An object at `path`, or undefined (with a problem) when it is missing-but-required or not an object. */
function objectAt(parent: Json, key: string, prefix: string, problems: Problems, required: boolean): Json | undefined {
  const value = parent[key];
  const path = keyPath(prefix, key);
  if (value === undefined) {
    if (required) problems.add(path, "is required");
    return undefined;
  }
  if (!isObject(value)) {
    problems.add(path, `must be an object, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

/** A string at `path`; `hint` says what a valid value looks like. */
function stringAt(parent: Json, key: string, prefix: string, problems: Problems, required: boolean, hint: string): string | undefined {
  const value = parent[key];
  const path = keyPath(prefix, key);
  if (value === undefined) {
    if (required) problems.add(path, `is required (${hint})`);
    return undefined;
  }
  if (typeof value !== "string") {
    problems.add(path, `must be a string (${hint}), got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

/** A limit at `path`: a positive integer between `floor` and `ceiling`, both inclusive. */
function limitAt(parent: Json, key: string, prefix: string, problems: Problems, floor: number, ceiling: number): number | undefined {
  const value = parent[key];
  const path = keyPath(prefix, key);
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    problems.add(path, `must be a positive integer, got ${describeValue(value)}`);
    return undefined;
  }
  if (value > ceiling) {
    problems.add(path, `is ${value}, above the relay's ceiling of ${ceiling} (a manifest may only lower limits)`);
    return undefined;
  }
  if (value < floor) {
    problems.add(path, `is ${value}, below the lowest workable value ${floor}`);
    return undefined;
  }
  return value;
}

function parseLimits(root: Json, ceilings: ManifestCeilings, problems: Problems): ManifestLimits {
  const limits = objectAt(root, "limits", "", problems, false) ?? {};
  rejectUnknownKeys(limits, ["perUser", ...MANIFEST_EVENT_LIMIT_KEYS], "limits", problems);
  const perUserRaw = objectAt(limits, "perUser", "limits", problems, false) ?? {};
  rejectUnknownKeys(perUserRaw, PER_USER_KEYS, "limits.perUser", problems);
  const perUser: Partial<PerUserLimits> = {};
  for (const key of PER_USER_KEYS) {
    const value = limitAt(perUserRaw, key, "limits.perUser", problems, 1, ceilings.perUser[key]);
    if (value !== undefined) perUser[key] = value;
  }
  const event: Partial<Pick<EventLimits, ManifestEventLimitKey>> = {};
  for (const key of MANIFEST_EVENT_LIMIT_KEYS) {
    const value = limitAt(limits, key, "limits", problems, Math.max(1, EVENT_LIMIT_FLOORS[key]), ceilings.event[key]);
    if (value !== undefined) event[key] = value;
  }
  return Object.freeze({ perUser: Object.freeze(perUser), ...event });
}

function parseOrigins(root: Json, problems: Problems): readonly string[] {
  const value = root["origins"];
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value)) {
    problems.add("origins", `must be an array of origins like "https://api.example.org", got ${describeValue(value)}`);
    return Object.freeze([]);
  }
  const origins: string[] = [];
  value.forEach((item: unknown, index) => {
    const path = `origins[${index}]`;
    if (typeof item !== "string") {
      problems.add(path, `must be a string like "https://api.example.org", got ${describeValue(item)}`);
      return;
    }
    const fault = checkOrigin(item);
    if (fault) problems.add(path, `${fault}, got ${describeValue(item)}`);
    else if (origins.includes(item)) problems.add(path, `repeats ${JSON.stringify(item)}`);
    else origins.push(item);
  });
  return Object.freeze(origins);
}

function parseBundle(root: Json, problems: Problems): BundleInfo | undefined {
  const bundle = objectAt(root, "bundle", "", problems, false);
  if (!bundle) return undefined;
  rejectUnknownKeys(bundle, ["file", "sha256", "bytes"], "bundle", problems);
  const file = stringAt(bundle, "file", "bundle", problems, true, "the bundle's file name");
  const sha256 = stringAt(bundle, "sha256", "bundle", problems, true, "64 lowercase hex digits");
  if (sha256 !== undefined && !SHA256_PATTERN.test(sha256)) problems.add("bundle.sha256", `must be 64 lowercase hex digits, got ${describeValue(sha256)}`);
  const bytes = bundle["bytes"];
  if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < 0) {
    problems.add("bundle.bytes", `must be a non-negative integer, got ${describeValue(bytes)}`);
  }
  if (file === undefined || sha256 === undefined || typeof bytes !== "number") return undefined;
  return Object.freeze({ file, sha256, bytes });
}

/**
 * Validate a manifest's JSON value: throws ChatbotError E_MANIFEST listing every problem (each line
 * starts with `file`), or returns the frozen manifest with defaults filled.
 */
export function parseManifest(raw: unknown, file: string, ceilings: ManifestCeilings = DEFAULT_CEILINGS): Manifest {
  const problems = new Problems(file);
  if (!isObject(raw)) {
    throw new ChatbotError("E_MANIFEST", `${file}: must be a JSON object like {"name": "echo", ...}, got ${describeValue(raw)}`);
  }
  rejectUnknownKeys(raw, ["name", "version", "author", "entry", "description", "limits", "schedule", "origins", "bundle"], "", problems);

  const name = stringAt(raw, "name", "", problems, true, "lowercase letters, digits, - _ . ; at most 64");
  if (name !== undefined && !NAME_PATTERN.test(name)) {
    problems.add("name", `must be 1-64 lowercase letters, digits, "-", "_" or "." starting with a letter or digit, got ${describeValue(name)}`);
  }
  const version = stringAt(raw, "version", "", problems, true, "a semantic version like 1.0.0");
  if (version !== undefined && !VERSION_PATTERN.test(version)) {
    problems.add("version", `must be a semantic version x.y.z with an optional -pre-release, got ${describeValue(version)}`);
  }

  const authorRaw = objectAt(raw, "author", "", problems, true);
  let author: { name: string; contact: string } | undefined;
  if (authorRaw) {
    rejectUnknownKeys(authorRaw, ["name", "contact"], "author", problems);
    const authorName = stringAt(authorRaw, "name", "author", problems, true, "who wrote the bot");
    if (authorName !== undefined && authorName.trim() === "") problems.add("author.name", "must not be empty");
    const contact = stringAt(authorRaw, "contact", "author", problems, true, "an email address or https URL where the relay operator can reach you");
    const contactFault = contact === undefined ? undefined : checkContact(contact);
    if (contactFault) problems.add("author.contact", `${contactFault}, got ${describeValue(contact)}`);
    if (authorName !== undefined && contact !== undefined) author = Object.freeze({ name: authorName, contact });
  }

  const entryRaw = stringAt(raw, "entry", "", problems, false, 'a relative path like "bot.ts"') ?? "bot.ts";
  const entry = checkEntry(entryRaw);
  if (!entry.ok) problems.add("entry", `${entry.fault}, got ${describeValue(entryRaw)}`);

  const description = stringAt(raw, "description", "", problems, false, "one line about the bot");

  const schedule = raw["schedule"] ?? "none";
  if (!SCHEDULES.includes(schedule as Schedule)) {
    problems.add("schedule", `must be one of ${SCHEDULES.map((s) => `"${s}"`).join(", ")}, got ${describeValue(schedule)}`);
  }

  const limits = parseLimits(raw, ceilings, problems);
  const origins = parseOrigins(raw, problems);
  const bundle = parseBundle(raw, problems);

  if (problems.lines.length > 0 || name === undefined || version === undefined || author === undefined || !entry.ok) {
    throw new ChatbotError("E_MANIFEST", problems.lines.join("\n"));
  }
  const manifest: Manifest = {
    name,
    version,
    author,
    entry: entry.path,
    ...(description === undefined ? {} : { description }),
    limits,
    schedule: schedule as Schedule,
    origins,
    ...(bundle === undefined ? {} : { bundle }),
  };
  return Object.freeze(manifest);
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
