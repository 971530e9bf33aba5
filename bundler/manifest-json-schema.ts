// docs/manifest.schema.json: the manifest's JSON Schema, emitted from the schema the host and
// `chatbot build` parse with (core/manifest-schema.ts), so an editor can check chatbot.json as the
// author types. `make docs` writes it; a unit test fails when the committed file is stale.
import { toJsonSchema } from "@valibot/to-json-schema";
import { DEFAULT_CEILINGS, manifestSchema } from "../core/manifest-schema.js";

/** Where `make docs` writes the schema, relative to the checkout root. */
export const MANIFEST_SCHEMA_FILE = "docs/manifest.schema.json";

/**
 * The manifest's JSON Schema as text (2-space JSON, final newline). Limits carry the seed's
 * ceilings as maxima (a relay may set lower ones); checks JSON Schema cannot say (an origin's
 * spelling, an entry inside the folder, distinct origins) are in the descriptions and in the host.
 */
export function manifestJsonSchemaText(): string {
  const schema = toJsonSchema(manifestSchema(DEFAULT_CEILINGS), { errorMode: "ignore" });
  const document = {
    $schema: schema.$schema,
    title: "chatbot.json — a bot's manifest",
    description: "Generated from core/manifest-schema.ts by `make docs`; do not edit.",
    ...schema,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
