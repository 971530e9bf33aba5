// Where this package lives on disk, so the bundler finds `std/` and `chatbot new` finds
// `templates/` both from source (bundler/*.ts under vitest) and compiled (lib/bundler/*.js).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ChatbotError } from "../core/errors.js";

/** The package's own name in package.json; the walk stops at the first package.json that has it. */
export const PACKAGE_NAME = "@chatbot-host/chatbot";

/** The root folder of the `chatbot` package: walk up from this module to its package.json. */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate) && readPackageName(candidate) === PACKAGE_NAME) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new ChatbotError("E_CONFIG", `cannot find the "${PACKAGE_NAME}" package root above ${from}: is the installation complete?`);
    }
    dir = parent;
  }
}

/** The `name` field of a package.json, or undefined when it is unreadable. */
function readPackageName(file: string): unknown {
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { name?: unknown }).name;
  } catch {
    return undefined;
  }
}

/** Absolute path of the guest library's entry that `chatbot/std` resolves to. */
export function stdEntryPath(root: string = packageRoot()): string {
  return join(root, "std", "index.ts");
}

/** Absolute path of the folder holding the `chatbot new` templates. */
export function templatesDir(root: string = packageRoot()): string {
  return join(root, "templates");
}
