// `npm ci` must work on any platform Node 20 runs on (issue 11, part 9): a package built for one
// os/cpu (the Delta Chat cores, esbuild's and rollup's binaries) may only be reached through optional
// dependencies, which npm skips where they cannot run. A plain dependency on one fails there with
// EBADPLATFORM before a single test runs.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

interface LockEntry {
  os?: string[];
  cpu?: string[];
  optional?: boolean;
  dev?: boolean;
}

const root = join(import.meta.dirname, "..", "..");
const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };

describe("platform-specific packages", () => {
  it("are all optional in package-lock.json", () => {
    const platformSpecific = Object.entries(lock.packages).filter(([, entry]) => entry.os || entry.cpu);
    expect(platformSpecific.length).toBeGreaterThan(5); // the cores and esbuild's binaries at least
    const required = platformSpecific.filter(([, entry]) => entry.optional !== true).map(([path]) => path);
    expect(required).toEqual([]);
  });

  it("the Delta Chat cores are dev-only: a bot author who installs chatbot never downloads them", () => {
    const cores = Object.entries(lock.packages).filter(([path]) => /node_modules\/(dc-core-|@deltachat\/stdio-rpc-server)/.test(path));
    expect(cores.map(([path]) => path).sort()).toEqual([
      "node_modules/@deltachat/stdio-rpc-server-linux-x64",
      "node_modules/dc-core-1139",
      "node_modules/dc-core-1160",
      "node_modules/dc-core-233",
      "node_modules/dc-core-262",
    ]);
    for (const [, entry] of cores) expect(entry).toMatchObject({ dev: true, optional: true });
  });

  // npm's own check: plan `npm ci` of the lock as a macOS arm64 machine would (npm's --os/--cpu)
  // with --dry-run: npm resolves the lock and applies its platform rules as for a real install and
  // lists each package it would add, but fetches and writes nothing (~1 s; the real install took
  // ~10 s and needed the registry for darwin's binaries). The linux-x64 cores are skipped (a
  // required one would be added regardless under --os, so their absence shows npm saw them as
  // optional), and darwin's own binaries are planned in their place.
  it("npm ci as darwin-arm64 succeeds and leaves the linux cores out", () => {
    const dir = mkdtempSync(join(tmpdir(), "chatbot-platform-"));
    try {
      cpSync(join(root, "package.json"), join(dir, "package.json"));
      cpSync(join(root, "package-lock.json"), join(dir, "package-lock.json"));
      cpSync(join(root, "test", "cores", "package.json"), join(dir, "test", "cores", "package.json"));
      const plan = execFileSync("npm", ["ci", "--dry-run", "--os=darwin", "--cpu=arm64", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"], {
        cwd: dir,
        encoding: "utf8",
        stdio: "pipe",
        timeout: 120_000,
      });
      const added = [...plan.matchAll(/^add (\S+) \S+$/gm)].map((match) => match[1]!);
      expect(added).toContain("openpgp");
      expect(added).toContain("vitest");
      expect(added).toContain("@biomejs/cli-darwin-arm64");
      expect(added).not.toContain("dc-core-262");
      expect(added).not.toContain("@deltachat/stdio-rpc-server-linux-x64");
      expect(added).not.toContain("@biomejs/cli-linux-x64");
      expect(readdirSync(dir)).not.toContain("node_modules"); // planned, not installed
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
