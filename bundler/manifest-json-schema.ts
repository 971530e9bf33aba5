// chatbot.schema.json: the manifest's JSON Schema, emitted from the schema the host and `chatbot
// build` parse with (core/manifest-schema.ts), so an editor can check chatbot.json as the author
// types. It ships in the package; every template's manifest names it with "$schema" (a bot's
// node_modules/chatbot/chatbot.schema.json). `make docs` writes it; a unit test fails when the
// committed file is stale.
import { toJsonSchema } from "@valibot/to-json-schema";
import { jsonSchemaHint } from "../core/json-schema-hints.js";
import { DEFAULT_CEILINGS, manifestSchema } from "../core/manifest-schema.js";

/** Where `make docs` writes the schema, relative to the checkout root. */
export const MANIFEST_SCHEMA_FILE = "chatbot.schema.json";

/**
 * The manifest's JSON Schema as text (2-space JSON, final newline). Limits carry the seed's
 * ceilings as maxima (a relay may set lower ones); the checks that are functions (an origin's
 * spelling, a contact, an entry inside the folder, distinct origins) as the patterns they carry
 * (core/json-schema-hints.ts).
 */
export function manifestJsonSchemaText(): string {
  const schema = toJsonSchema(manifestSchema(DEFAULT_CEILINGS), {
    errorMode: "ignore",
    // Checks that are functions say what they accept through the keywords they were marked with.
    overrideAction: ({ valibotAction, jsonSchema }) => {
      const hint = jsonSchemaHint(valibotAction);
      return hint === undefined ? undefined : { ...jsonSchema, ...hint };
    },
  });
  const document = {
    $schema: schema.$schema,
    title: "chatbot.json — a bot's manifest",
    description: "Generated from core/manifest-schema.ts by `make docs`; do not edit.",
    ...schema,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
