// chatbot.schema.json is emitted from the manifest's schema (core/manifest-schema.ts): the
// committed file must equal a fresh emission (run `make docs` after changing the schema), and a
// JSON Schema validator (ajv, as editors and CI tools use) must say what the parser says: every
// template's manifest passes, every manifest the parser refuses (the shared list) fails.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { MANIFEST_SCHEMA_FILE, manifestJsonSchemaText } from "../../bundler/manifest-json-schema.js";
import { DEFAULT_EVENT_LIMITS } from "../../core/limits.js";
import { parseManifest } from "../../core/manifest.js";
import { INVALID_MANIFESTS, validManifest } from "../fixtures/manifests/invalid-manifests.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const schema = JSON.parse(readFileSync(join(ROOT, MANIFEST_SCHEMA_FILE), "utf8")) as Record<string, unknown>;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const TEMPLATES = readdirSync(join(ROOT, "templates"), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

describe("manifest JSON Schema", () => {
  it("chatbot.schema.json is current: equal to a fresh emission from the schema (else run make docs)", () => {
    expect(readFileSync(join(ROOT, MANIFEST_SCHEMA_FILE), "utf8")).toBe(manifestJsonSchemaText());
  });

  it("requires name, version and author, refuses unknown keys, and caps limits at the seed's ceilings", () => {
    const parsed = schema as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { properties?: Record<string, { maximum?: number }> }>;
    };
    expect(parsed.required).toEqual(["name", "version", "author"]);
    expect(parsed.additionalProperties).toBe(false);
    expect(parsed.properties.limits!.properties!.cpuMsPerEvent!.maximum).toBe(DEFAULT_EVENT_LIMITS.cpuMsPerEvent);
  });

  for (const template of TEMPLATES) {
    it(`accepts the ${template} template's manifest, which names it with "$schema"`, () => {
      const manifest = JSON.parse(readFileSync(join(ROOT, "templates", template, "chatbot.json"), "utf8")) as Record<string, unknown>;
      expect(manifest.$schema).toBe("./node_modules/chatbot/chatbot.schema.json");
      expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
      expect(() => parseManifest(manifest, "chatbot.json")).not.toThrow();
    });
  }

  it("accepts what the parser accepts at the edges: loopback http origins, ports, an https contact, a pre-release, an entry in a subfolder", () => {
    for (const manifest of [
      validManifest({ origins: ["http://localhost:8080", "http://127.0.0.1", "https://api.example.org:8443", "https://[::1]"] }),
      validManifest({ author: { name: "Ada", contact: "https://ada.example.org/contact?x=1" }, version: "2.0.0-beta.1" }),
      validManifest({ entry: "src/main.mts", schedule: "hourly" }),
    ]) {
      expect(() => parseManifest(manifest, "chatbot.json")).not.toThrow();
      expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  for (const { why, manifest } of INVALID_MANIFESTS) {
    it(`refuses ${why}, as the parser does`, () => {
      expect(validate(manifest)).toBe(false);
    });
  }
});
