// Typed API docs (issue 5 item 5): docs/API.md is generated from the declarations tsc emits for
// `std/` (what a bot imports) and host/testing/api.ts (the test kit), with their doc comments, so
// the reference cannot drift from the types. TypeScript 7 has no compiler API in JavaScript, so
// this reads tsc's .d.ts output, whose layout is regular: top-level declarations at column 0,
// members indented by 4 spaces, doc comments right above what they describe.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/** One member of an interface or class: its signature line(s) and doc comment. */
export interface DeclaredMember {
  signature: string;
  doc: string;
}

/** One top-level declaration of a .d.ts file. */
export interface DeclaredSymbol {
  name: string;
  kind: "interface" | "type" | "function" | "class" | "const";
  doc: string;
  /** The declaration as tsc wrote it, without its doc comment and `export`/`declare` keywords. */
  text: string;
  members: DeclaredMember[];
}

const DECLARATION = /^(?:export )?(?:declare )?(interface|type|function|class|const) ([A-Za-z_$][\w$]*)/;

/** The text of a doc comment without its `/**`, `*` and `*\/` markers; lines joined with spaces. */
function docText(lines: string[]): string {
  return lines
    .map((line) =>
      line
        .trim()
        .replace(/^\/\*\*\s?/, "")
        .replace(/\s?\*\/$/, "")
        .replace(/^\*\s?/, ""),
    )
    .filter((line, index, all) => line !== "" || (index > 0 && index < all.length - 1))
    .join("\n")
    .replace(/([^\n])\n(?=[^\n-])/g, "$1 ")
    .trim();
}

/** Net `{`/`(`/`[`/`<` depth change of a line (string contents of .d.ts lines hold no brackets we care about). */
function depthChange(line: string): number {
  let depth = 0;
  for (const char of line) {
    if (char === "{" || char === "(" || char === "[") depth++;
    else if (char === "}" || char === ")" || char === "]") depth--;
  }
  return depth;
}

/** The members of an interface or class body (the lines between its braces). */
function scanMembers(body: string[]): DeclaredMember[] {
  const members: DeclaredMember[] = [];
  let doc: string[] = [];
  let inDoc = false;
  let current: string[] = [];
  let depth = 0;
  for (const line of body) {
    const trimmed = line.trim();
    if (current.length === 0 && (inDoc || trimmed.startsWith("/**"))) {
      inDoc = !trimmed.endsWith("*/");
      doc.push(trimmed);
      continue;
    }
    if (current.length === 0 && trimmed === "") continue;
    current.push(trimmed);
    depth += depthChange(trimmed);
    if (depth <= 0 && /[;,]$|^[^{]*$/.test(trimmed)) {
      members.push({ signature: current.join(" ").replace(/\s+/g, " ").replace(/;$/, ""), doc: docText(doc) });
      current = [];
      doc = [];
      depth = 0;
    }
  }
  return members;
}

/** Every top-level interface, type, function, class and const declared in a .d.ts text. */
export function scanDeclarations(dts: string): Map<string, DeclaredSymbol> {
  const symbols = new Map<string, DeclaredSymbol>();
  const lines = dts.split("\n");
  let doc: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("/**")) {
      doc = [];
      for (; i < lines.length; i++) {
        doc.push(lines[i]!);
        if (lines[i]!.trimEnd().endsWith("*/")) break;
      }
      continue;
    }
    const match = DECLARATION.exec(line);
    if (!match) {
      if (line.trim() !== "") doc = [];
      continue;
    }
    const [, kind, name] = match as unknown as [string, DeclaredSymbol["kind"], string];
    const text: string[] = [line.replace(/^export /, "").replace(/^declare /, "")];
    let depth = depthChange(line);
    while (depth > 0 && i + 1 < lines.length) {
      i++;
      text.push(lines[i]!);
      depth += depthChange(lines[i]!);
    }
    const members = kind === "interface" || kind === "class" ? scanMembers(text.slice(1, -1)) : [];
    symbols.set(name, { name, kind, doc: docText(doc), text: text.join("\n"), members });
    doc = [];
  }
  return symbols;
}

/** The names an index.d.ts re-exports (`export { a, type B } from …` and `export type { … } from …`). */
export function reexportedNames(indexDts: string): string[] {
  const names: string[] = [];
  for (const match of indexDts.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const part of match[1]!.split(",")) {
      const name = part.trim().replace(/^type\s+/, "");
      if (name) names.push(name);
    }
  }
  return names;
}

/** A section of the reference: the names it documents, looked up in `symbols`. */
export interface DocSection {
  title: string;
  intro: string;
  names: string[];
}

function renderSymbol(symbol: DeclaredSymbol): string {
  const out = [`### \`${symbol.name}\``, ""];
  if (symbol.doc) out.push(symbol.doc, "");
  if (symbol.members.length > 0) {
    const head = symbol.text.split("\n")[0]!.replace(/\s*\{\s*$/, "");
    out.push("```ts", head, "```", "");
    for (const member of symbol.members) out.push(`- \`${member.signature}\`${member.doc ? ` — ${member.doc.replace(/\n+/g, " ")}` : ""}`);
    out.push("");
  } else {
    out.push("```ts", symbol.text.replace(/^ {4}/gm, "  "), "```", "");
  }
  return out.join("\n");
}

/** Names of known symbols that `symbol`'s text mentions. */
function mentioned(symbol: DeclaredSymbol, symbols: Map<string, DeclaredSymbol>): string[] {
  return [...symbol.text.matchAll(/\b[A-Z][A-Za-z]+\b/g)].map((m) => m[0]).filter((name) => name !== symbol.name && symbols.has(name));
}

/**
 * The markdown reference: each section's symbols in order, then every other known type they
 * mention (transitively) under "Types these use", so no name in the reference is left undefined.
 */
export function renderApiDocs(preamble: string, sections: DocSection[], symbols: Map<string, DeclaredSymbol>): string {
  const shown = new Set<string>();
  const out = [preamble.trim(), ""];
  const missing: string[] = [];
  for (const section of sections) {
    out.push(`## ${section.title}`, "", section.intro.trim(), "");
    for (const name of section.names) {
      const symbol = symbols.get(name);
      if (!symbol) {
        missing.push(name);
        continue;
      }
      if (shown.has(name)) continue;
      shown.add(name);
      out.push(renderSymbol(symbol));
    }
  }
  if (missing.length > 0) throw new Error(`api-docs: no declaration found for ${missing.join(", ")}`);
  const related: string[] = [];
  const queue = [...shown].flatMap((name) => mentioned(symbols.get(name)!, symbols));
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (shown.has(name)) continue;
    shown.add(name);
    related.push(name);
    queue.push(...mentioned(symbols.get(name)!, symbols));
  }
  if (related.length > 0) {
    out.push("## Types these use", "");
    for (const name of related.sort()) out.push(renderSymbol(symbols.get(name)!));
  }
  return `${out.join("\n").trimEnd()}\n`;
}

const PREAMBLE = `
# chatbot API reference

Generated by \`make docs\` from the types in \`std/\` (what a bot imports as \`chatbot/std\`) and
\`host/testing/api.ts\` (the test kit, \`chatbot/testing\`), with their doc comments. Do not edit
by hand: a test fails when this file and the types disagree. The README's author guide shows the
same API with examples.

\`\`\`ts
import { defineBot } from "chatbot/std";

export default defineBot({
  async message(msg, bot) {
    if (msg.command?.name === "count") {
      const n = ((await bot.state.get<number>("count")) ?? 0) + 1;
      await bot.state.set("count", n);
      await bot.reply(\`\${n}\`);
    }
  },
});
\`\`\`
`;

const run = promisify(execFile);

/** Emit the .d.ts of `tsconfig` (or of `files` with `flags`) into a temp folder and scan them all. */
async function declarationsOf(root: string, args: string[]): Promise<{ symbols: Map<string, DeclaredSymbol>; files: Map<string, string> }> {
  const out = await mkdtemp(join(tmpdir(), "api-docs-"));
  try {
    await run(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), ...args, "--declaration", "--emitDeclarationOnly", "--noEmit", "false", "--outDir", out],
      { cwd: root },
    );
    const files = new Map<string, string>();
    const symbols = new Map<string, DeclaredSymbol>();
    for (const entry of await readdir(out, { recursive: true })) {
      if (!entry.endsWith(".d.ts")) continue;
      const text = await readFile(join(out, entry), "utf8");
      files.set(entry, text);
      for (const [name, symbol] of scanDeclarations(text)) if (!symbols.has(name)) symbols.set(name, symbol);
    }
    return { symbols, files };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** The whole of docs/API.md for the checkout at `root`. */
export async function generateApiDocs(root: string): Promise<string> {
  const std = await declarationsOf(root, ["-p", "std/tsconfig.json"]);
  const kit = await declarationsOf(root, [
    "host/testing/api.ts",
    "--ignoreConfig",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2022",
    "--strict",
    "--skipLibCheck",
    "--types",
    "node",
    "--rootDir",
    ".",
  ]);
  const stdNames = reexportedNames(std.files.get("index.d.ts") ?? "");
  const kitFile = [...kit.files].find(([name]) => name.endsWith("testing/api.d.ts"))?.[1] ?? "";
  const kitNames = [...scanDeclarations(kitFile).keys()];
  const symbols = new Map([...kit.symbols, ...std.symbols]);
  return renderApiDocs(
    PREAMBLE,
    [
      { title: "chatbot/std", intro: "What a bot imports. Everything runs inside the sandbox; every `bot` method is one call into the host.", names: stdNames },
      {
        title: "chatbot/testing",
        intro: 'The test kit: run the bot in the real sandbox with a fake clock, recorded fetch responses and in-memory state (README "Testing your bot").',
        names: kitNames,
      },
    ],
    symbols,
  );
}
