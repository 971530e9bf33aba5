// docs/manifest.schema.json is emitted from the manifest's schema (core/manifest-schema.ts): the
// committed file must equal a fresh emission (run `make docs` after changing the schema), and it
// must say what the parser says about the keys a manifest may and must have.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MANIFEST_SCHEMA_FILE, manifestJsonSchemaText } from "../../bundler/manifest-json-schema.js";
import { DEFAULT_EVENT_LIMITS } from "../../core/limits.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("manifest JSON Schema", () => {
  it("docs/manifest.schema.json is current: equal to a fresh emission from the schema (else run make docs)", () => {
    expect(readFileSync(join(ROOT, MANIFEST_SCHEMA_FILE), "utf8")).toBe(manifestJsonSchemaText());
  });

  it("requires name, version and author, refuses unknown keys, and caps limits at the seed's ceilings", () => {
    const schema = JSON.parse(manifestJsonSchemaText()) as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { properties?: Record<string, { maximum?: number }> }>;
    };
    expect(schema.required).toEqual(["name", "version", "author"]);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.limits!.properties!.cpuMsPerEvent!.maximum).toBe(DEFAULT_EVENT_LIMITS.cpuMsPerEvent);
  });
});
