// What a confined runner sees of the filesystem: the files it needs to start, read-only, at the
// same paths as outside, and nothing else (not the data dir, /etc, home dirs or other bots' files).
// The view is a list of entries for the mount script in spawn-recipe.ts: a symlink on the way to
// a file is recreated as a symlink, the file or directory itself is bind-mounted read-only.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve, sep } from "node:path";

/** One entry of the runner's view. */
export type ViewEntry =
  | { kind: "link"; path: string; target: string }
  | { kind: "file"; path: string /** What is bound there when not the path itself (a symlink's file). */; source?: string }
  | { kind: "dir"; path: string };

/** The shared libraries a binary loads (its ELF interpreter included), from `ldd`. */
export function sharedLibraries(binary: string): string[] {
  const result = spawnSync("ldd", [binary], { encoding: "utf8" });
  if (result.status !== 0) return [];
  const libraries: string[] = [];
  for (const line of result.stdout.split("\n")) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (match?.[1]) libraries.push(match[1]);
  }
  return libraries;
}

/** A package's folder and those of its dependencies, found the way Node finds them from projectRoot. */
export function packageClosure(projectRoot: string, names: readonly string[]): string[] {
  const found = new Set<string>();
  const visit = (name: string, from: string) => {
    let dir = from;
    for (;;) {
      const candidate = join(dir, "node_modules", ...name.split("/"));
      if (existsSync(join(candidate, "package.json"))) {
        if (found.has(candidate)) return;
        found.add(candidate);
        const manifest = JSON.parse(readFileSync(join(candidate, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
        for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency, candidate);
        return;
      }
      const parent = dirname(dir);
      if (parent === dir) throw new Error(`package ${name} not found from ${from}`);
      dir = parent;
    }
  };
  for (const name of names) visit(name, projectRoot);
  return [...found];
}

/** Relative imports, `import()`s and `new URL("./x.js", import.meta.url)` (a Worker's file) in compiled ESM. */
const LOCAL_IMPORT = /(?:^\s*(?:import|export)\b[^"';]*?\bfrom\s*|^\s*import\s*|\bimport\s*\(\s*|new URL\(\s*)"(\.{1,2}\/[^"]+)"/gm;
/** Package imports: `from "pkg"` or `import("pkg")`, not node: built-ins. */
const PACKAGE_IMPORT = /(?:^\s*(?:import|export)\b[^"';]*?\bfrom\s*|^\s*import\s*|\bimport\s*\(\s*)"((?:@[^/"]+\/)?[^./"][^/"]*)(?:\/[^"]*)?"/gm;

/**
 * The packages the compiled files reachable from `entry` import (found by reading their imports,
 * so a new import in lib/ cannot be forgotten here), by name.
 */
export function importedPackages(entry: string): string[] {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [resolve(entry)];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(LOCAL_IMPORT)) queue.push(resolve(dirname(file), match[1]!));
    for (const match of text.matchAll(PACKAGE_IMPORT)) if (!match[1]!.startsWith("node:")) packages.add(match[1]!);
  }
  return [...packages].sort();
}

/** The project's files a runner needs: package.json (for "type": "module"), lib/, and the packages `entry` imports. */
export function runnerProjectPaths(projectRoot: string, entry = join(projectRoot, "lib", "host", "executor", "runner-process.js")): string[] {
  return [join(projectRoot, "package.json"), join(projectRoot, "lib"), ...packageClosure(projectRoot, importedPackages(entry))];
}

/**
 * View entries that make each path visible at its own name: every symlink to a directory met on the
 * way is recreated (so /lib -> usr/lib still works), and the real file or directory is bound read-only.
 */
export function viewEntries(paths: readonly string[]): ViewEntry[] {
  const entries = new Map<string, ViewEntry>();
  const add = (path: string, depth: number) => {
    if (depth > 32) throw new Error(`too many symlinks resolving ${path}`);
    const parts = resolve(path).split(sep).filter(Boolean);
    let current = "";
    for (let i = 0; i < parts.length; i++) {
      current += `/${parts[i]}`;
      const stat = lstatSync(current);
      // A symlink to a file at the end (libc.so.6 -> libc-2.36.so): its file is bound at its name,
      // which costs a line of the fstab instead of a fork of ln.
      if (stat.isSymbolicLink() && i === parts.length - 1 && !statSync(current).isDirectory()) {
        if (!entries.has(current)) entries.set(current, { kind: "file", path: current, source: realpathSync(current) });
        return;
      }
      if (stat.isSymbolicLink()) {
        const target = readlinkSync(current);
        if (!entries.has(current)) entries.set(current, { kind: "link", path: current, target });
        const rest = parts.slice(i + 1).join("/");
        const followed = isAbsolute(target) ? target : join(dirname(current), target);
        add(rest ? join(followed, rest) : followed, depth + 1);
        return;
      }
    }
    if (!entries.has(current)) entries.set(current, statSync(current).isDirectory() ? { kind: "dir", path: current } : { kind: "file", path: current });
  };
  for (const path of paths) add(path, 0);
  // A bound directory already shows everything under it.
  const dirs = [...entries.values()].filter((e) => e.kind === "dir").map((e) => e.path);
  return [...entries.values()].filter((e) => !dirs.some((dir) => e.path !== dir && e.path.startsWith(`${dir}/`)));
}
