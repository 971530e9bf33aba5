// The folders depend one way (issue 11 part 5): core/ (errors, limits, the manifest contract, the
// clock) is used by both bundler/ and host/ and imports neither; bundler/ uses core/ and the guest
// contract, never host/. A cycle between folders is what made a change in one need a change in the
// other. This test reads every import statement and fails on the first one against the direction.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Which of our top-level folders (or single files) each folder may import, besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  bundler: ["core", "std/contract.ts"],
  host: ["core", "bundler", "std/contract.ts"],
  std: [],
};

/** Every .ts file under `dir` (relative to the repository root). */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The relative specifiers of a file's static imports, re-exports and dynamic imports. */
function relativeImports(text: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;
  return [...text.matchAll(pattern)].map((match) => match[1]!);
}

/** Imports of `folder`'s files that reach a folder it may not use, as "file -> target". */
function violations(folder: string): string[] {
  const allowed = ALLOWED[folder]!;
  return sources(folder).flatMap((file) =>
    relativeImports(readFileSync(join(ROOT, file), "utf8")).flatMap((spec) => {
      const target = relative(ROOT, resolve(dirname(join(ROOT, file)), spec)).replace(/\.js$/, ".ts");
      const top = target.split("/")[0]!;
      const ok = top === folder || allowed.some((entry) => target === entry || top === entry);
      return ok ? [] : [`${file} -> ${target}`];
    }),
  );
}

describe("layering: core <- bundler <- host, no cycle", () => {
  it("core/ imports nothing of ours outside core/ (neither host/ nor bundler/)", () => {
    expect(sources("core").length).toBeGreaterThan(3); // the walk found the folder
    expect(violations("core")).toEqual([]);
  });

  it("bundler/ imports core/ (and the guest contract) only, never host/", () => {
    expect(violations("bundler")).toEqual([]);
  });

  it("host/ imports only core/, bundler/ and the guest contract from outside host/", () => {
    expect(sources("host").length).toBeGreaterThan(50);
    expect(violations("host")).toEqual([]);
  });

  it("std/ (compiled into bots) imports nothing of the host's side", () => {
    expect(violations("std")).toEqual([]);
  });

  it("the scan sees a forbidden import when there is one", () => {
    // The control: without it a scan that matched nothing would pass every test above.
    expect(relativeImports('import { x } from "../host/errors.js";\nexport { y } from "./y.js";\nawait import("../a.js");')).toEqual([
      "../host/errors.js",
      "./y.js",
      "../a.js",
    ]);
  });
});
