// `make docs`: write docs/API.md from the types (bundler/api-docs.ts) and chatbot.schema.json
// from the manifest's schema (manifest-json-schema.ts). Run from the checkout root.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateApiDocs } from "./api-docs.js";
import { MANIFEST_SCHEMA_FILE, manifestJsonSchemaText } from "./manifest-json-schema.js";

const root = process.cwd();
await mkdir(join(root, "docs"), { recursive: true });
await writeFile(join(root, "docs/API.md"), await generateApiDocs(root));
process.stdout.write("wrote docs/API.md\n");
await writeFile(join(root, MANIFEST_SCHEMA_FILE), manifestJsonSchemaText());
process.stdout.write(`wrote ${MANIFEST_SCHEMA_FILE}\n`);
