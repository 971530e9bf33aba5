import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runInNewContext } from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildBot, checkBundleSize } from "../../bundler/build.js";
import { parseManifest } from "../../core/manifest.js";
import { stdEntryPath } from "../../bundler/package-root.js";
import { BOT_MARKER, BUNDLE_GLOBAL } from "../../std/contract.js";
import { isChatbotError } from "../../core/errors.js";
import { BUNDLE_MAX_BYTES } from "../../core/limits.js";

const MANIFEST = { name: "test-bot", version: "1.0.0", author: { name: "Ada", contact: "ada@example.org" } };

let root: string;
let botDir: string;

beforeEach(async () => {
  // The bot lives one level down so there is an "outside" next to it to import from.
  root = await mkdtemp(join(tmpdir(), "chatbot-build-"));
  botDir = join(root, "bot");
  await mkdir(botDir);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Write files (paths relative to the bot folder) plus a valid manifest. */
async function writeBot(files: Record<string, string>, manifest: Record<string, unknown> = MANIFEST): Promise<void> {
  await writeFile(join(botDir, "chatbot.json"), JSON.stringify(manifest));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(botDir, name)), { recursive: true });
    await writeFile(join(botDir, name), text);
  }
}

/** Evaluate a bundle the way the sandbox does: a plain script whose top-level `var` becomes a global. */
function evaluateBundle(code: string): Record<string, unknown> {
  const context: Record<string, unknown> = {};
  runInNewContext(code, context);
  return context[BUNDLE_GLOBAL] as Record<string, unknown>;
}

/** The E_BUILD message of a failing build. */
async function buildError(): Promise<string> {
  try {
    await buildBot(botDir);
  } catch (error) {
    expect(isChatbotError(error, "E_BUILD")).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected the build to fail");
}

describe("build: a bot becomes one script", () => {
  it("produces dist/bot.js that, run as a plain script, defines the bundle global with the default export", async () => {
    await writeBot({
      "bot.ts": 'import { greet } from "./lib/greet.js";\nexport default { greeting: greet("Ada") as string };\n',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the bot's source holds a template literal
      "lib/greet.ts": "export function greet(name: string): string { return `hello ${name}`; }\n",
    });
    const result = await buildBot(botDir);
    expect(result.bundlePath).toBe(join(botDir, "dist", "bot.js"));
    const bundle = evaluateBundle(await readFile(result.bundlePath, "utf8"));
    expect(bundle.default).toEqual({ greeting: "hello Ada" });
  });

  it.skipIf(!existsSync(stdEntryPath()))("resolves chatbot/std to this package's guest library", async () => {
    await writeBot({ "bot.ts": 'import { defineBot } from "chatbot/std";\nexport default defineBot({ async message() {} });\n' });
    const result = await buildBot(botDir);
    const bot = evaluateBundle(await readFile(result.bundlePath, "utf8")).default as { kind: string };
    expect(bot.kind).toBe(BOT_MARKER);
  });

  it("writes dist/chatbot.json: the normalized manifest with the bundle's size and sha256", async () => {
    await writeBot({ "bot.ts": "export default 1;\n" });
    const result = await buildBot(botDir);
    const bytes = await readFile(result.bundlePath);
    expect(result.bundleBytes).toBe(bytes.byteLength);
    expect(result.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    const written = JSON.parse(await readFile(result.manifestPath, "utf8")) as unknown;
    const reparsed = parseManifest(written, result.manifestPath);
    expect(reparsed).toEqual(result.manifest);
    expect(reparsed.bundle).toEqual({ file: "bot.js", sha256: result.sha256, bytes: result.bundleBytes });
    expect(reparsed.schedule).toBe("none");
  });

  it("writes a source map whose sources are relative to the bot folder and that maps back to bot.ts", async () => {
    await writeBot({ "bot.ts": 'const first = 1;\nconst marker = "find-me";\nexport default { first, marker };\n' });
    const result = await buildBot(botDir);
    const payload = JSON.parse(await readFile(result.sourceMapPath, "utf8")) as { sources: string[]; sourceRoot: string };
    expect(payload.sources).toContain("bot.ts");
    expect(payload.sourceRoot).toBe("../");
    const code = await readFile(result.bundlePath, "utf8");
    // "external": the host finds the map next to the bundle; the bundle itself does not point to it.
    expect(code).not.toContain("sourceMappingURL");
    const lines = code.split("\n");
    const line = lines.findIndex((l) => l.includes('"find-me"'));
    const entry = new SourceMap(payload as never).findEntry(line, lines[line]!.indexOf("marker"));
    expect(entry).toMatchObject({ originalSource: expect.stringMatching(/bot\.ts$/), originalLine: 1 });
  });

  it("bundles an npm package installed in the bot's own node_modules", async () => {
    await writeBot({
      "bot.ts": 'import pad from "left-pad";\nexport default pad("7", 3);\n',
      "node_modules/left-pad/package.json": JSON.stringify({ name: "left-pad", version: "1.0.0", main: "index.js" }),
      "node_modules/left-pad/index.js": "module.exports = function pad(s, n) { return s.padStart(n, '0'); };\n",
    });
    const result = await buildBot(botDir);
    expect(evaluateBundle(await readFile(result.bundlePath, "utf8")).default).toBe("007");
  });
});

describe("build: the sandbox contract is enforced at build time", () => {
  it("refuses import of node:fs, naming the file, line and column", async () => {
    await writeBot({ "bot.ts": 'export const x = 1;\nimport fs from "node:fs";\nexport default fs;\n' });
    const message = await buildError();
    expect(message).toMatch(/^bot\.ts:2:16: "node:fs" is a Node built-in module: bots cannot use Node APIs/);
  });

  it("refuses a Node built-in without the node: prefix, and through require()", async () => {
    await writeBot({ "bot.ts": 'import { readFile } from "fs/promises";\nconst cp = require("child_process");\nexport default [readFile, cp];\n' });
    const message = await buildError();
    expect(message).toMatch(/^bot\.ts:1:26: "fs\/promises" is a Node built-in/m);
    expect(message).toMatch(/^bot\.ts:2:20: "child_process" is a Node built-in/m);
  });

  it("refuses an import from outside the bot folder, naming the file and line", async () => {
    await writeFile(join(root, "outside.js"), "export default 'secret';\n");
    await writeBot({ "bot.ts": 'import x from "../outside.js";\nexport default x;\n' });
    expect(await buildError()).toMatch(/^bot\.ts:1:15: imports must stay inside the bot folder: "\.\.\/outside\.js" resolves to \.\.\/outside\.js/);
  });

  it("refuses a symlink inside the bot folder that points outside it", async () => {
    await mkdir(join(root, "elsewhere"));
    await writeFile(join(root, "elsewhere", "secret.js"), "export default 'secret';\n");
    await writeBot({ "bot.ts": 'import x from "./linked/secret.js";\nexport default x;\n' });
    await symlink(join(root, "elsewhere"), join(botDir, "linked"));
    expect(await buildError()).toMatch(/^bot\.ts:1:15: imports must stay inside the bot folder/);
  });

  it("refuses a file outside the bot folder reached through a dynamic import pattern", async () => {
    // esbuild expands import(`../${x}.js`) into every matching file without asking onResolve.
    await writeFile(join(root, "secret.js"), "export default 'secret';\n");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the bot's source holds a template literal
    await writeBot({ "bot.ts": 'const n = "secret";\nexport default async () => (await import(`../${n}.js`)).default;\n' });
    expect(await buildError()).toMatch(/^bot\.ts:2:\d+: imports must stay inside the bot folder: \.\.\/secret\.js was reached through an import pattern/);
  });

  it("refuses chatbot's host code: only chatbot/std is importable", async () => {
    await writeBot({ "bot.ts": 'import x from "chatbot/host/errors";\nexport default x;\n' });
    expect(await buildError()).toMatch(/^bot\.ts:1:15: "chatbot\/host\/errors" cannot be imported by a bot/);
  });

  it("reports a syntax error as file:line:col", async () => {
    await writeBot({ "bot.ts": "export default {\n  a: 1,\n  b: ;\n};\n" });
    expect(await buildError()).toBe('bot.ts:3:6: Unexpected ";"');
  });

  it("lists every error of a build, one per line", async () => {
    await writeBot({
      "bot.ts": 'import "./a.js";\nimport "./b.js";\nexport default 1;\n',
      "a.ts": "export const = 2;\n",
      "b.ts": 'import "node:net";\n',
    });
    const lines = (await buildError()).split("\n");
    expect(lines).toHaveLength(2);
    expect(lines).toContainEqual(expect.stringMatching(/^a\.ts:1:14: /));
    expect(lines).toContainEqual(expect.stringMatching(/^b\.ts:1:8: "node:net" is a Node built-in/));
  });

  it("reports an invalid manifest as E_MANIFEST before bundling", async () => {
    await writeBot({ "bot.ts": "export default 1;\n" }, { ...MANIFEST, entry: "../x.ts" });
    await expect(buildBot(botDir)).rejects.toMatchObject({ code: "E_MANIFEST", message: expect.stringContaining('"entry" must stay inside the bot folder') });
  });

  it("reports a missing entry file as E_BUILD naming the manifest key", async () => {
    await writeBot({}, { ...MANIFEST, entry: "main.ts" });
    await expect(buildBot(botDir)).rejects.toMatchObject({
      code: "E_BUILD",
      message: expect.stringContaining('"entry" is "main.ts" but that file does not exist'),
    });
  });
});

describe("build: bundle size limit", () => {
  it("accepts a bundle of exactly BUNDLE_MAX_BYTES and rejects one byte more with E_BUNDLE", () => {
    expect(() => checkBundleSize(BUNDLE_MAX_BYTES, "bot.ts")).not.toThrow();
    expect(() => checkBundleSize(BUNDLE_MAX_BYTES + 1, "bot.ts")).toThrow(expect.objectContaining({ code: "E_BUNDLE" }));
  });

  it("fails a real build whose bundle is larger than BUNDLE_MAX_BYTES", async () => {
    await writeBot({ "bot.ts": `export default ${JSON.stringify("x".repeat(BUNDLE_MAX_BYTES))};\n` });
    await expect(buildBot(botDir)).rejects.toMatchObject({
      code: "E_BUNDLE",
      message: expect.stringContaining(`above the host's limit of ${BUNDLE_MAX_BYTES} bytes`),
    });
    expect(existsSync(join(botDir, "dist", "bot.js"))).toBe(false);
  });
});
