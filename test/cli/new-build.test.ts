import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { EXIT } from "../../host/cli/command.js";
import { sanitizeBotName } from "../../host/cli/commands/new.js";
import { packageRoot, stdEntryPath } from "../../bundler/package-root.js";
import { BOT_MARKER, BUNDLE_GLOBAL } from "../../std/contract.js";
import { captureIo, type Captured } from "../support/cli-io.js";

let cwd: string;

function capture(): Captured {
  return captureIo(cwd);
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
}

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), "chatbot-cli-"));
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe("cli new + build: the echo template", () => {
  it.skipIf(!existsSync(stdEntryPath()))("creates a bot with `new` that `build` bundles into a working script", async () => {
    const io = capture();
    expect(await runCli(["new", "my-bot"], io)).toBe(EXIT.ok);
    expect(io.out).toContain("cd my-bot");
    expect(io.out).toContain("npx chatbot run --mail sample.eml");
    const dir = join(cwd, "my-bot");
    for (const file of ["chatbot.json", "bot.ts", "package.json", "tsconfig.json", "README.md", ".gitignore", "sample.eml"]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }

    const built = capture();
    expect(await runCli(["build", "my-bot"], built)).toBe(EXIT.ok);
    expect(built.out).toMatch(/^built my-bot 1\.0\.0: my-bot\/dist\/bot\.js \(\d+ bytes, sha256 [0-9a-f]{12}…\)/);
    // The template's placeholder contact is pointed out, but does not fail the build.
    expect(built.err).toContain("placeholder");
    const context: Record<string, unknown> = {};
    runInNewContext(await readFile(join(dir, "dist", "bot.js"), "utf8"), context);
    expect((context[BUNDLE_GLOBAL] as { default: { kind: string } }).default.kind).toBe(BOT_MARKER);
  });

  it("names the bot after the folder, and drops the in-repo paths mapping from tsconfig.json", async () => {
    expect(await runCli(["new", "My Weather Bot!"], capture())).toBe(EXIT.ok);
    const dir = join(cwd, "My Weather Bot!");
    expect((await readJson(join(dir, "chatbot.json"))).name).toBe("my-weather-bot");
    expect((await readJson(join(dir, "package.json"))).name).toBe("my-weather-bot");
    const tsconfig = await readJson(join(dir, "tsconfig.json"));
    expect(tsconfig.compilerOptions).not.toHaveProperty("paths");
    expect(tsconfig.compilerOptions).toMatchObject({ types: [], strict: true, noUncheckedIndexedAccess: true });
  });

  it("depends on the registry's package under the name chatbot, by a semver range of this version; --link on this installation", async () => {
    const version = (JSON.parse(await readFile(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
    expect(await runCli(["new", "from-registry"], capture())).toBe(EXIT.ok);
    expect((await readJson(join(cwd, "from-registry", "package.json"))).devDependencies).toMatchObject({ chatbot: `npm:@chatbot-host/chatbot@^${version}` });
    expect(await runCli(["new", "linked", "--link"], capture())).toBe(EXIT.ok);
    expect((await readJson(join(cwd, "linked", "package.json"))).devDependencies).toMatchObject({ chatbot: `file:${packageRoot()}` });
    // The manifest keeps naming its JSON Schema where npm installs the package.
    expect((await readJson(join(cwd, "linked", "chatbot.json"))).$schema).toBe("./node_modules/chatbot/chatbot.schema.json");
  });

  it("takes the name from --name and prints {dir, template, name} with --json", async () => {
    const io = capture();
    expect(await runCli(["new", "x", "--name", "weather", "--json"], io)).toBe(EXIT.ok);
    expect(JSON.parse(io.out)).toEqual({ dir: join(cwd, "x"), template: "echo", name: "weather" });
    expect((await readJson(join(cwd, "x", "chatbot.json"))).name).toBe("weather");
  });

  it("lists every template with its manifest's description, as text and with --json", async () => {
    const text = capture();
    expect(await runCli(["new", "--list"], text)).toBe(EXIT.ok);
    expect(text.out).toMatch(/^echo\s+Echoes every message back/m);
    const json = capture();
    expect(await runCli(["new", "--list", "--json"], json)).toBe(EXIT.ok);
    const listed = JSON.parse(json.out) as Array<{ name: string; description: string; schedule: string }>;
    expect(listed.map((t) => t.name)).toContain("echo");
    for (const template of listed) expect(template.description, template.name).not.toBe("");
    expect(existsSync(join(cwd, "x"))).toBe(false);
  });

  it("copies into an existing empty folder", async () => {
    await mkdir(join(cwd, "empty"));
    expect(await runCli(["new", "empty"], capture())).toBe(EXIT.ok);
    expect(existsSync(join(cwd, "empty", "bot.ts"))).toBe(true);
  });

  it("makes a valid bot name from any folder name", () => {
    expect(sanitizeBotName("My Bot!")).toBe("my-bot");
    expect(sanitizeBotName("--._x")).toBe("x");
    expect(sanitizeBotName("ÄÖÜ")).toBe("bot");
    expect(sanitizeBotName("a".repeat(100))).toHaveLength(64);
  });
});

describe("cli new: refusals", () => {
  it("refuses a non-empty folder with exit 64 and leaves its files alone", async () => {
    await mkdir(join(cwd, "busy"));
    await writeFile(join(cwd, "busy", "notes.txt"), "mine");
    const io = capture();
    expect(await runCli(["new", "busy"], io)).toBe(EXIT.usage);
    expect(io.err).toContain("busy is not empty (notes.txt)");
    expect(await readFile(join(cwd, "busy", "notes.txt"), "utf8")).toBe("mine");
    expect(existsSync(join(cwd, "busy", "bot.ts"))).toBe(false);
  });

  it("refuses an unknown template with exit 64, listing the available ones", async () => {
    const io = capture();
    expect(await runCli(["new", "x", "--template", "nope"], io)).toBe(EXIT.usage);
    expect(io.err).toContain('unknown template "nope"; available: echo');
  });

  it("refuses an invalid --name with exit 64", async () => {
    const io = capture();
    expect(await runCli(["new", "x", "--name", "Bad Name"], io)).toBe(EXIT.usage);
    expect(io.err).toContain('--name "Bad Name" must be');
  });

  it("needs a folder argument", async () => {
    const io = capture();
    expect(await runCli(["new"], io)).toBe(EXIT.usage);
    expect(io.err).toContain("missing <dir>");
  });
});

describe("cli build: errors become exit codes", () => {
  it("exits 66 when the folder has no chatbot.json", async () => {
    const io = capture();
    expect(await runCli(["build"], io)).toBe(EXIT.noInput);
    expect(io.err).toContain("E_NOT_FOUND");
  });

  it("exits 65 with file:line:col when the bot imports a Node API", async () => {
    await writeFile(join(cwd, "chatbot.json"), JSON.stringify({ name: "b", version: "1.0.0", author: { name: "A", contact: "a@example.net" } }));
    await writeFile(join(cwd, "bot.ts"), 'import fs from "node:fs";\nexport default fs;\n');
    const io = capture();
    expect(await runCli(["build"], io)).toBe(EXIT.dataError);
    expect(io.err).toContain("error E_BUILD: bot.ts:1:16:");
  });

  it("prints the build result as JSON with --json", async () => {
    await writeFile(join(cwd, "chatbot.json"), JSON.stringify({ name: "b", version: "1.0.0", author: { name: "A", contact: "https://a.example.net" } }));
    await writeFile(join(cwd, "bot.ts"), "export default 1;\n");
    const io = capture();
    expect(await runCli(["build", "--json"], io)).toBe(EXIT.ok);
    const result = JSON.parse(io.out) as { bundlePath: string; sha256: string; manifest: { bundle: { sha256: string } } };
    expect(result.bundlePath).toBe(join(cwd, "dist", "bot.js"));
    expect(result.manifest.bundle.sha256).toBe(result.sha256);
    expect(io.err).toBe("");
  });
});

describe("cli new and build: help and options", () => {
  for (const command of ["new", "build"]) {
    it(`prints complete help for ${command} with --help`, async () => {
      const io = capture();
      expect(await runCli([command, "--help"], io)).toBe(EXIT.ok);
      expect(io.out).toMatch(new RegExp(`^Usage: chatbot ${command} `));
      expect(io.out).toContain("Options:");
      expect(io.out).toContain("Example:");
    });

    it(`rejects an unknown option to ${command} with exit 64`, async () => {
      const io = capture();
      expect(await runCli([command, "x", "--frobnicate"], io)).toBe(EXIT.usage);
      expect(io.err).toContain("--frobnicate");
      expect(io.err).toContain(`chatbot ${command} --help`);
    });
  }

  it("lists new and build in the top-level help", async () => {
    const io = capture();
    expect(await runCli(["--help"], io)).toBe(EXIT.ok);
    expect(io.out).toMatch(/^ {2}new /m);
    expect(io.out).toMatch(/^ {2}build /m);
  });
});
