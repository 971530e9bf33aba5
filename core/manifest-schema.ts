// The shape of the bot manifest `chatbot.json` (DESIGN §3.2) as one valibot schema: its type
// (Manifest), its checks with the words an author reads, and the JSON Schema in
// chatbot.schema.json (shipped in the package) all come from here. Limits are checked against the relay operator's
// ceilings, so the schema is made per set of ceilings (manifest.ts keeps the one for the defaults).
import * as v from "valibot";
import {
  DEFAULT_EVENT_LIMITS,
  DEFAULT_PER_USER_LIMITS,
  EVENT_LIMIT_FLOORS,
  MANIFEST_EVENT_LIMIT_KEYS,
  type EventLimits,
  type PerUserLimits,
} from "./limits.js";
import { checkContact, checkEntry, checkOrigin } from "./manifest-values.js";
import { describeValue, got, strict } from "./schema-issues.js";
import { withJsonSchema } from "./json-schema-hints.js";

export { describeValue } from "./schema-issues.js";

/** When the host wakes the bot without a mail. */
export const SCHEDULES = ["none", "hourly", "daily"] as const;
/** When the host wakes the bot without a mail. */
export type Schedule = (typeof SCHEDULES)[number];

/** The event limits a manifest may lower (the rest are host-only). */
export type ManifestEventLimitKey = (typeof MANIFEST_EVENT_LIMIT_KEYS)[number];

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
// For editors (chatbot.schema.json), what checkOrigin, checkContact and checkEntry accept, as
// patterns; the functions stay the host's check. An origin: https with a lower-case host (or an
// IPv6 literal) and a port other than 443, or http on loopback and a port other than 80.
const HOST_LABELS = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*";
const ORIGIN_PATTERN = `^(?:https://(?:${HOST_LABELS}|\\[[0-9a-f:.]+\\])(?::(?!443$)[1-9][0-9]{0,4})?|http://(?:localhost|127(?:\\.(?:0|[1-9][0-9]{0,2})){3}|\\[::1\\])(?::(?!80$)[1-9][0-9]{0,4})?)$`;
// An email address (something@domain.tld) or an https URL.
const CONTACT_PATTERN = '^(?:[^\\s@<>()\\[\\],;:"]+@[^\\s@<>()\\[\\],;:"]+\\.[^\\s@<>()\\[\\],;:"]+|https://[^\\s/?#]+(?:[/?#]\\S*)?)$';
// Relative, "/" between folders, never out of the folder, a .ts/.mts/.js/.mjs file.
const ENTRY_PATTERN = "^(?![/\\\\])(?![A-Za-z]:)(?!.*\\\\)(?!(?:.*/)?\\.\\.(?:/|$))(?!\\s*$).*\\.(?:ts|mts|js|mjs)$";
// Semantic Versioning 2.0.0 core `x.y.z` plus an optional pre-release; no build metadata.
const VERSION_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const PER_USER_KEYS = Object.keys(DEFAULT_PER_USER_LIMITS) as Array<keyof PerUserLimits>;
const ORIGIN_EXAMPLE = '"https://api.example.org"';

/** A string; `hint` says what a valid one looks like. */
function text(hint: string) {
  return v.string(got(`must be a string (${hint})`));
}

/** A limit: a positive integer between `floor` and `ceiling`, both inclusive. */
function limit(floor: number, ceiling: number) {
  const positive = got("must be a positive integer");
  return v.pipe(
    v.number(positive),
    v.safeInteger(positive),
    v.minValue(1, positive),
    v.maxValue(ceiling, (issue) => `is ${String(issue.input)}, above the relay's ceiling of ${ceiling} (a manifest may only lower limits)`),
    v.minValue(floor, (issue) => `is ${String(issue.input)}, below the lowest workable value ${floor}`),
  );
}

/** The event limits a manifest may ask for, each optional, keyed as in limits.ts. */
function eventLimitEntries(ceilings: ManifestCeilings) {
  const entries = {} as { [K in ManifestEventLimitKey]: v.OptionalSchema<ReturnType<typeof limit>, undefined> };
  for (const key of MANIFEST_EVENT_LIMIT_KEYS) entries[key] = v.optional(limit(Math.max(1, EVENT_LIMIT_FLOORS[key]), ceilings.event[key]));
  return entries;
}

/** The per-user limits a manifest may ask for, each optional. */
function perUserEntries(ceilings: ManifestCeilings) {
  const entries = {} as { [K in keyof PerUserLimits]: v.OptionalSchema<ReturnType<typeof limit>, undefined> };
  for (const key of PER_USER_KEYS) entries[key] = v.optional(limit(1, ceilings.perUser[key]));
  return entries;
}

/** Origins the bot asks to fetch from: a list of distinct `https://host[:port]`. */
const origins = v.pipe(
  v.array(
    v.pipe(
      v.string(got(`must be a string like ${ORIGIN_EXAMPLE}`)),
      withJsonSchema(
        v.check(
          (item: string) => checkOrigin(item) === undefined,
          (issue) => `${checkOrigin(issue.input as string)}, got ${describeValue(issue.input)}`,
        ),
        { pattern: ORIGIN_PATTERN },
      ),
    ),
    got(`must be an array of origins like ${ORIGIN_EXAMPLE}`),
  ),
  withJsonSchema(
    v.rawCheck<string[]>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      dataset.value.forEach((item, index) => {
        if (dataset.value.indexOf(item) === index) return;
        addIssue({ message: `repeats ${JSON.stringify(item)}`, path: [{ type: "array", origin: "value", input: dataset.value, key: index, value: item }] });
      });
    }),
    { uniqueItems: true },
  ),
  v.description("Origins (https://host[:port]) the bot asks to fetch from; the relay operator approves them."),
);

/** What `chatbot build` records about the bundle in dist/chatbot.json. */
const bundle = strict(
  {
    file: text("the bundle's file name"),
    sha256: v.pipe(
      text("64 lowercase hex digits"),
      v.regex(SHA256_PATTERN, got("must be 64 lowercase hex digits")),
      v.description("Lowercase hex SHA-256 of the bundle's bytes."),
    ),
    bytes: v.pipe(
      v.number(got("must be a non-negative integer")),
      v.safeInteger(got("must be a non-negative integer")),
      v.minValue(0, got("must be a non-negative integer")),
      v.description("Size of the bundle in bytes."),
    ),
  },
  {
    file: "is required (the bundle's file name)",
    sha256: "is required (64 lowercase hex digits)",
    bytes: "must be a non-negative integer, got undefined (undefined)",
  },
);

/** The manifest's schema against the operator's `ceilings`. */
export function manifestSchema(ceilings: ManifestCeilings) {
  return strict(
    {
      // For editors only (completion and checks from chatbot.schema.json); the host ignores it.
      $schema: v.optional(
        v.pipe(text("the path or URL of the manifest's JSON Schema"), v.description("The manifest's JSON Schema, for editors; ignored by the host.")),
      ),
      name: v.pipe(
        text("lowercase letters, digits, - _ . ; at most 64"),
        v.regex(NAME_PATTERN, got('must be 1-64 lowercase letters, digits, "-", "_" or "." starting with a letter or digit')),
        v.description("The bot's name: 1-64 lowercase letters, digits, -, _ or ., starting with a letter or digit."),
      ),
      version: v.pipe(
        text("a semantic version like 1.0.0"),
        v.regex(VERSION_PATTERN, got("must be a semantic version x.y.z with an optional -pre-release")),
        v.description("Semantic version x.y.z with an optional -pre-release."),
      ),
      author: strict(
        {
          name: v.pipe(
            text("who wrote the bot"),
            v.check((name) => name.trim() !== "", "must not be empty"),
          ),
          contact: v.pipe(
            text("an email address or https URL where the relay operator can reach you"),
            withJsonSchema(
              v.check(
                (contact: string) => checkContact(contact) === undefined,
                (issue) => `${checkContact(issue.input as string)}, got ${describeValue(issue.input)}`,
              ),
              { pattern: CONTACT_PATTERN },
            ),
            v.description("An email address or https URL where the relay operator can reach you."),
          ),
        },
        { name: "is required (who wrote the bot)", contact: "is required (an email address or https URL where the relay operator can reach you)" },
      ),
      entry: v.optional(
        v.pipe(
          text('a relative path like "bot.ts"'),
          withJsonSchema(
            v.check(
              (entry: string) => checkEntry(entry).ok,
              (issue) => {
                const entry = checkEntry(issue.input as string);
                return `${entry.ok ? "" : entry.fault}, got ${describeValue(issue.input)}`;
              },
            ),
            { pattern: ENTRY_PATTERN },
          ),
          // Normalized to POSIX form (checked just above, so never the fallback).
          v.transform((entry) => {
            const checked = checkEntry(entry);
            return checked.ok ? checked.path : entry;
          }),
          v.description("Entry module, relative to the bot folder, POSIX separators, never leaving the folder."),
        ),
        "bot.ts",
      ),
      description: v.optional(text("one line about the bot")),
      limits: v.optional(
        strict({
          ...eventLimitEntries(ceilings),
          perUser: v.optional(strict(perUserEntries(ceilings)), {}),
        }),
        {},
      ),
      // `null` is "none" too, as it always was (the old parser read `schedule ?? "none"`).
      schedule: v.nullish(
        v.pipe(
          v.picklist(SCHEDULES, got(`must be one of ${SCHEDULES.map((s) => `"${s}"`).join(", ")}`)),
          v.description("When the host wakes the bot without a mail."),
        ),
        "none",
      ),
      origins: v.optional(origins, []),
      bundle: v.optional(bundle),
    },
    { name: "is required (lowercase letters, digits, - _ . ; at most 64)", version: "is required (a semantic version like 1.0.0)", author: "is required" },
  );
}

/** The schema's output type, every level read-only. */
type DeepReadonly<T> = T extends readonly (infer I)[] ? readonly DeepReadonly<I>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** A parsed, normalized, frozen manifest (manifestSchema's output). */
export type Manifest = DeepReadonly<v.InferOutput<ReturnType<typeof manifestSchema>>>;

/**
 * Limits the bot asks for. Only what the author wrote is present: the host resolves them against
 * its own ceilings at run time (`effectiveEventLimits`), so a bundle never carries the ceilings of
 * the machine it was built on.
 */
export type ManifestLimits = Manifest["limits"];

/** What `chatbot build` records about the bundle in dist/chatbot.json. */
export type BundleInfo = NonNullable<Manifest["bundle"]>;
