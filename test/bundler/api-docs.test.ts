// docs/API.md is generated from the types (bundler/api-docs.ts): these tests keep it true — the
// committed file must equal a fresh generation, and every export a bot can import is documented.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { generateApiDocs, reexportedNames, renderApiDocs, scanDeclarations } from "../../bundler/api-docs.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("api docs: scanning tsc's declaration output", () => {
  const dts = [
    "/** A thing. */",
    "export interface Thing {",
    "    /** Its name. */",
    "    name: string;",
    "    nested: {",
    "        a: number;",
    "    };",
    "    run(x: Other): Promise<void>;",
    "}",
    "/** Another. */",
    'export type Other = "a" | "b";',
    "export declare function make(): Thing;",
  ].join("\n");

  it("finds each declaration with its doc comment and an interface's members with theirs", () => {
    const symbols = scanDeclarations(dts);
    expect([...symbols.keys()]).toEqual(["Thing", "Other", "make"]);
    expect(symbols.get("Thing")).toMatchObject({ kind: "interface", doc: "A thing." });
    expect(symbols.get("Thing")!.members).toEqual([
      { signature: "name: string", doc: "Its name." },
      { signature: "nested: { a: number; }", doc: "" },
      { signature: "run(x: Other): Promise<void>", doc: "" },
    ]);
    expect(symbols.get("make")).toMatchObject({ kind: "function", doc: "", text: "function make(): Thing;" });
  });

  it("renders the types a documented symbol mentions, and refuses a name it cannot find", () => {
    const symbols = scanDeclarations(dts);
    const markdown = renderApiDocs("# T", [{ title: "S", intro: "i", names: ["make"] }], symbols);
    expect(markdown).toContain("## Types these use");
    expect(markdown).toContain("### `Thing`");
    expect(markdown).toContain("### `Other`");
    expect(() => renderApiDocs("# T", [{ title: "S", intro: "i", names: ["Missing"] }], symbols)).toThrow(/Missing/);
  });

  it("reads the names an index re-exports", () => {
    expect(reexportedNames('export { defineBot, type BotDefinition } from "./a.js";\nexport type { A, B, } from "./b.js";')).toEqual([
      "defineBot",
      "BotDefinition",
      "A",
      "B",
    ]);
  });
});

describe("api docs: docs/API.md", () => {
  it("equals a fresh generation from the types (run `make docs` after changing std/ or the test kit's api.ts)", async () => {
    const committed = await readFile(`${ROOT}docs/API.md`, "utf8");
    expect(committed).toBe(await generateApiDocs(ROOT));
  }, 60_000);

  it("documents every export of chatbot/std, each with a doc comment", async () => {
    const docs = await readFile(`${ROOT}docs/API.md`, "utf8");
    const index = await readFile(`${ROOT}std/index.ts`, "utf8");
    const names = reexportedNames(index);
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) {
      const section = docs.split(`### \`${name}\`\n\n`)[1];
      expect(section, `${name} is in docs/API.md`).toBeDefined();
      expect(section!.startsWith("```"), `${name} has a doc comment`).toBe(false);
    }
  });
});
