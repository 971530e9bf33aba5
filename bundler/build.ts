// `chatbot build`: one bot folder in, one script out (DESIGN §3.1). esbuild bundles the entry
// with the guest library into an IIFE that defines globalThis[BUNDLE_GLOBAL]; the output is
// dist/bot.js, its source map and the normalized manifest that records the bundle's hash.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, realpath, writeFile } from "node:fs/promises";
import { basename, dirname, join, posix, relative, resolve, sep } from "node:path";
import { build, type BuildFailure, type Message, type OutputFile } from "esbuild";
import { BUNDLE_GLOBAL } from "../std/contract.js";
import { ChatbotError } from "../core/errors.js";
import { BUNDLE_MAX_BYTES } from "../core/limits.js";
import { MANIFEST_FILE, parseManifest, readManifest, type Manifest } from "../core/manifest.js";
import { guardPlugin, isInside, STD_SPECIFIER } from "./guard-plugin.js";
import { stdEntryPath } from "./package-root.js";

/** File names inside the output folder. */
const BUNDLE_FILE = "bot.js";
const SOURCE_MAP_FILE = "bot.js.map";

export interface BuildOptions {
  /** Output folder; relative paths are resolved against the bot folder. Default "dist". */
  outDir?: string;
}

export interface BuildResult {
  /** The normalized manifest as written to dist/chatbot.json, including `bundle`. */
  manifest: Manifest;
  bundlePath: string;
  sourceMapPath: string;
  manifestPath: string;
  /** Size of bot.js in bytes. */
  bundleBytes: number;
  /** Lowercase hex SHA-256 of bot.js. */
  sha256: string;
  /** esbuild warnings as `file:line:col: text` (the build succeeded anyway). */
  warnings: string[];
  /**
   * Every file the build read, absolute: the files esbuild bundled, the source manifest, and the
   * folder's tsconfig.json and package.json when present (esbuild reads both for its settings).
   */
  inputs: string[];
}

/** Throw E_BUNDLE when a bundle is larger than the host loads; exactly `maxBytes` passes. */
export function checkBundleSize(bytes: number, what: string, maxBytes: number = BUNDLE_MAX_BYTES): void {
  if (bytes > maxBytes) {
    throw new ChatbotError(
      "E_BUNDLE",
      `${what}: the bundle is ${bytes} bytes, above the host's limit of ${maxBytes} bytes; drop large dependencies or data files`,
    );
  }
}

/** One esbuild message as `file:line:col: text`, with a 1-based column counted in characters. */
function formatMessage(message: Message): string {
  const loc = message.location;
  const notes = message.notes.map((n) => n.text).filter((t) => t !== "");
  const text = notes.length > 0 ? `${message.text} (${notes.join("; ")})` : message.text;
  if (!loc) return text;
  // esbuild's column is 0-based and counts UTF-8 bytes; editors count characters from 1.
  const column = Buffer.from(loc.lineText, "utf8").subarray(0, loc.column).toString("utf8").length + 1;
  return `${loc.file}:${loc.line}:${column}: ${text}`;
}

function isBuildFailure(error: unknown): error is BuildFailure {
  return error instanceof Error && Array.isArray((error as Partial<BuildFailure>).errors);
}

/**
 * Point the map's sources at the bot folder (`bot.ts`, not `../bot.ts`), with a sourceRoot back to
 * it; the guest library's files become `chatbot/std/…` wherever the package is installed.
 */
function rewriteSourceMap(mapText: string, outDir: string, botDir: string, stdDir: string): string {
  const map = JSON.parse(mapText) as { sources: string[]; sourceRoot?: string };
  const toPosix = (p: string) => p.split(sep).join(posix.sep);
  map.sources = map.sources.map((source) => {
    const file = resolve(outDir, source);
    if (!isInside(botDir, file) && isInside(stdDir, file)) return `${STD_SPECIFIER}/${toPosix(relative(stdDir, file))}`;
    return toPosix(relative(botDir, file));
  });
  const root = toPosix(relative(outDir, botDir));
  map.sourceRoot = root === "" ? "" : `${root}/`;
  return JSON.stringify(map);
}

function outputNamed(files: OutputFile[], name: string): OutputFile {
  const file = files.find((f) => basename(f.path) === name);
  if (!file) throw new ChatbotError("E_BUILD", `esbuild produced no ${name}`);
  return file;
}

/** Bundle the bot in `dir` into `<dir>/dist/` (bot.js, bot.js.map, chatbot.json). */
export async function buildBot(dir: string, options: BuildOptions = {}): Promise<BuildResult> {
  if (!existsSync(dir)) throw new ChatbotError("E_NOT_FOUND", `${dir}: no such folder`);
  // Real paths: esbuild reports resolved files without symlinks, and the folder check compares them.
  const botDir = await realpath(resolve(dir));
  const source = await readManifest(botDir);
  const entryPath = join(botDir, source.entry);
  if (!existsSync(entryPath)) {
    throw new ChatbotError("E_BUILD", `${join(botDir, MANIFEST_FILE)}: "entry" is ${JSON.stringify(source.entry)} but that file does not exist`);
  }
  if (!isInside(botDir, await realpath(entryPath))) {
    throw new ChatbotError("E_BUILD", `${source.entry}: the entry is a link that leaves the bot folder`);
  }
  if (!existsSync(stdEntryPath())) throw new ChatbotError("E_BUILD", `the guest library is missing at ${stdEntryPath()}: reinstall chatbot`);
  const stdEntry = await realpath(stdEntryPath());
  const outDir = resolve(botDir, options.outDir ?? "dist");

  // biome-ignore lint/suspicious/noImplicitAnyLet: typed by the assignment below, as esbuild infers it from these options (outputFiles present with write: false)
  let result;
  try {
    result = await build({
      absWorkingDir: botDir,
      entryPoints: [entryPath],
      outfile: join(outDir, BUNDLE_FILE),
      bundle: true,
      write: false,
      format: "iife",
      globalName: BUNDLE_GLOBAL,
      platform: "neutral",
      // "neutral" resolves no package main fields by default; npm packages need module/main.
      mainFields: ["module", "main"],
      target: "es2022",
      charset: "utf8",
      sourcemap: "external",
      legalComments: "none",
      // An imported .html file is its text (a webxdc app's index.html, e.g. templates/poll).
      loader: { ".html": "text" },
      // QuickJS compiles every event's bundle afresh (no bytecode loading in the stock build),
      // and compile time grows with source bytes: whitespace and syntax minification cut the
      // echo bundle 27% (~8% of compile time). Names are kept so stacks stay readable; positions
      // map back through bot.js.map (chatbot run/dev do this).
      minifyWhitespace: true,
      minifySyntax: true,
      minifyIdentifiers: false,
      logLevel: "silent",
      // Which files went in (BuildResult.inputs): the test kit rebuilds only when one changed.
      metafile: true,
      plugins: [guardPlugin(botDir, stdEntry)],
    });
  } catch (error) {
    if (isBuildFailure(error)) {
      throw new ChatbotError("E_BUILD", error.errors.map(formatMessage).join("\n"), { cause: error });
    }
    throw error;
  }

  const bundle = outputNamed(result.outputFiles, BUNDLE_FILE);
  const map = outputNamed(result.outputFiles, SOURCE_MAP_FILE);
  checkBundleSize(bundle.contents.byteLength, source.entry);
  const sha256 = createHash("sha256").update(bundle.contents).digest("hex");
  const bundleBytes = bundle.contents.byteLength;

  const manifestPath = join(outDir, MANIFEST_FILE);
  // A stale `bundle` record from a copied dist/chatbot.json is replaced, never trusted.
  const { bundle: _stale, ...rest } = source;
  // Re-parse what we write so dist/chatbot.json is exactly what the host will accept.
  const manifest = parseManifest(JSON.parse(JSON.stringify({ ...rest, bundle: { file: BUNDLE_FILE, sha256, bytes: bundleBytes } })), manifestPath);

  await mkdir(outDir, { recursive: true });
  const bundlePath = join(outDir, BUNDLE_FILE);
  const sourceMapPath = join(outDir, SOURCE_MAP_FILE);
  await writeFile(bundlePath, bundle.contents);
  await writeFile(sourceMapPath, rewriteSourceMap(map.text, outDir, botDir, dirname(stdEntry)));
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

  return {
    manifest,
    bundlePath,
    sourceMapPath,
    manifestPath,
    bundleBytes,
    sha256,
    warnings: result.warnings.map(formatMessage),
    inputs: [
      ...Object.keys(result.metafile.inputs).map((input) => resolve(botDir, input)),
      join(botDir, MANIFEST_FILE),
      ...["tsconfig.json", "package.json"].map((name) => join(botDir, name)).filter((path) => existsSync(path)),
    ],
  };
}
