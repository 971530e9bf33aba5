// The two packages as a registry serves them (issue 14): @chatbot-host/chatbot installs as it is
// (lib/ compiled in, no install or prepare script, the exact files) and @chatbot-host/create is
// released with it at the same version. test/e2e/registry.test.ts installs both from a registry.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
type Pkg = {
  name: string;
  version: string;
  bin: Record<string, string>;
  scripts?: Record<string, string>;
  engines: { node: string };
  files: string[];
  dependencies?: Record<string, string>;
};
const main = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Pkg;
const create = JSON.parse(readFileSync(join(ROOT, "create", "package.json"), "utf8")) as Pkg;
/** npm runs these when a package is installed (prepare too, for git and folder installs). */
const INSTALL_SCRIPTS = ["preinstall", "install", "postinstall", "prepare"];

describe("the published packages", () => {
  it("@chatbot-host/chatbot: a bin named chatbot that exists, Node >= 20.18, no install script", () => {
    expect(main.name).toBe("@chatbot-host/chatbot");
    expect(Object.keys(main.bin)).toEqual(["chatbot"]);
    expect(existsSync(join(ROOT, main.bin.chatbot!))).toBe(true);
    expect(main.engines.node).toBe(">=20.18");
    expect(INSTALL_SCRIPTS.filter((script) => main.scripts?.[script] !== undefined)).toEqual([]);
  });

  it("its tarball holds lib/, std/, the templates, the relay bot host and the manifest schema, and nothing of the tests or the sources", () => {
    const [packed] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8" })) as Array<{
      files: Array<{ path: string }>;
    }>;
    const paths = packed!.files.map((f) => f.path);
    const tops = [...new Set(paths.map((path) => (path.includes("/") ? `${path.split("/")[0]}/` : path)))].sort();
    expect(tops).toEqual(["README.md", "chatbot.schema.json", "host/", "lib/", "package.json", "std/", "templates/"]);
    expect(paths.filter((path) => path.startsWith("host/") && !path.startsWith("host/host-bot/"))).toEqual([]);
    expect(paths).toContain("lib/host/cli/main.js");
    expect(paths).toContain("lib/deliver.cjs");
    expect(paths.filter((path) => /(^|\/)(node_modules|dist)\//.test(path) || (/\.test\.ts$/.test(path) && !path.startsWith("templates/")))).toEqual([]);
  });

  it("@chatbot-host/create is released with it: the same version, depends on exactly that version, no install script", () => {
    expect(create.name).toBe("@chatbot-host/create");
    expect(create.version).toBe(main.version);
    expect(create.dependencies).toEqual({ "@chatbot-host/chatbot": main.version });
    expect(create.engines.node).toBe(main.engines.node);
    expect(existsSync(join(ROOT, "create", create.bin.create!))).toBe(true);
    expect(INSTALL_SCRIPTS.filter((script) => create.scripts?.[script] !== undefined)).toEqual([]);
  });
});
