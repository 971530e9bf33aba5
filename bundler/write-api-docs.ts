// `make docs`: write docs/API.md from the types (bundler/api-docs.ts). Run from the checkout root.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateApiDocs } from "./api-docs.js";

const root = process.cwd();
await mkdir(join(root, "docs"), { recursive: true });
await writeFile(join(root, "docs/API.md"), await generateApiDocs(root));
process.stdout.write("wrote docs/API.md\n");
