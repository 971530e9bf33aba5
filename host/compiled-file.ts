// A compiled file another process runs (the sandbox runner, the CLI for the pipeline process): in
// lib/host/ beside this module when it is compiled itself, else under lib/ (tests run the sources).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ChatbotError } from "../core/errors.js";

/** The compiled `path` (relative to host/, e.g. "cli/main.js"), or E_CONFIG saying to build first. */
export function compiledFile(path: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, path);
  if (existsSync(beside)) return beside;
  const compiled = join(here, "..", "lib", "host", path);
  if (existsSync(compiled)) return compiled;
  throw new ChatbotError("E_CONFIG", `${path} not found in ${here} or in lib/host/: run 'make build' first`);
}
