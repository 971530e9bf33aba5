// A bot repository imports chatbot/testing through package.json "exports": every target must exist
// after `make build`, and the types a test sees must not need Node's (bot repos have no @types/node).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  exports: Record<string, string | Record<string, string>>;
  files: string[];
};

/** The .d.ts files a declaration file imports, transitively. */
function declarationClosure(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  for (const match of readFileSync(entry, "utf8").matchAll(/from "(\.[^"]+)\.js"/g)) {
    declarationClosure(resolve(dirname(entry), `${match[1]}.d.ts`), seen);
  }
  return seen;
}

describe("package exports: chatbot/testing", () => {
  it("every target of every export exists and is shipped (package.json files)", () => {
    for (const [name, target] of Object.entries(pkg.exports)) {
      for (const file of typeof target === "string" ? [target] : Object.values(target)) {
        expect(existsSync(join(ROOT, file)), `${name} → ${file}`).toBe(true);
        // npm always ships package.json; everything else must be under an entry of `files`.
        const path = file.replace(/^\.\//, "");
        const shipped = file === "./package.json" || pkg.files.some((entry) => path === entry || path.startsWith(`${entry}/`));
        expect(shipped, `${file} is in files`).toBe(true);
      }
    }
  });

  it("the declarations a test imports reference no Node types", () => {
    const entry = join(ROOT, (pkg.exports["./testing"] as Record<string, string>).types!);
    const files = declarationClosure(entry);
    expect(files.size).toBeGreaterThan(3);
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      expect(text, file).not.toMatch(/reference types="node"|from "node:|NodeJS\.|\bBuffer\b/);
    }
  });
});
