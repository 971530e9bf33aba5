// `node --import ./record-imports.mjs …` with RECORD_IMPORTS_TO=<file>: appends the URL of every
// module the process resolves (static and dynamic imports, node: built-ins included) to that file.
// Used to prove what a command loads (test/cli/host-deliver.test.ts).
import { register } from "node:module";

register("./record-imports-hooks.mjs", import.meta.url, { data: { out: process.env.RECORD_IMPORTS_TO } });
