import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../host/cli/commands/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("cli: the command registry loads each command only when it runs", () => {
  it("each entry's path and summary are those of the command it loads, and no two entries share a path", async () => {
    for (const entry of COMMANDS) {
      const command = await entry.load();
      expect(command.path).toEqual(entry.path);
      expect(command.summary, entry.path.join(" ")).toBe(entry.summary);
    }
    expect(new Set(COMMANDS.map((entry) => entry.path.join(" "))).size).toBe(COMMANDS.length);
  });

  it("chatbot --help lists every command from the registry alone: no command module and no package is loaded (~0.1 s, not ~0.8)", () => {
    const out = join(mkdtempSync(join(tmpdir(), "help-imports-")), "urls.txt");
    writeFileSync(out, "");
    const run = spawnSync(process.execPath, ["--import", join(ROOT, "test/support/record-imports.mjs"), join(ROOT, "lib/host/cli/main.js"), "--help"], {
      env: { PATH: "/usr/bin:/bin", RECORD_IMPORTS_TO: out },
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    for (const entry of COMMANDS) expect(run.stdout).toContain(`${entry.path.join(" ")}`);
    const urls = readFileSync(out, "utf8").split("\n").filter(Boolean);
    expect(urls.filter((url) => url.includes("/node_modules/"))).toEqual([]);
    expect(urls.filter((url) => url.includes("/lib/host/cli/commands/") && !url.endsWith("/commands/index.js"))).toEqual([]);
    // The control: the recorder sees the CLI's own modules.
    expect(urls.some((url) => url.endsWith("/lib/host/cli/main.js"))).toBe(true);
  });
});
