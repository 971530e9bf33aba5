// The README's quick start, run verbatim as a new user would type it: every line of its code block
// in one shell, with a fresh HOME (so `~/mybot` is new) and this checkout as the working folder.
// Only `make build` is left out: `make test` has just run it, and rebuilding lib/ here would race
// the other end-to-end tests that run from it. After the block, `npx chatbot build` (the README's
// next step): with it this is the echo template's whole new-user path, so templates-new-user
// leaves echo to this test instead of installing it a second time. npm takes what `make build`
// left in the user's cache without asking the registry about each package again (as
// templates-new-user's --prefer-offline: ~10 s instead of ~23 s for the install).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { userShellEnv } from "../support/user-shell.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const home = mkdtempSync(join(tmpdir(), "quickstart-home-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** The commands of the README's "Quick start" code block, comments stripped. */
function quickStartCommands(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.split("### Quick start\n")[1]?.split("\n### ")[0] ?? "";
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("README: no ```sh block under ### Quick start");
  return block
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "");
}

describe("README quick start", () => {
  it("works verbatim: new bot, install, its tests, typecheck, a run and a dev session; then chatbot build", async () => {
    const commands = quickStartCommands();
    expect(commands[0]).toBe("make build");
    // templates-new-user.test.ts counts on this block for the echo template.
    expect(commands.find((command) => command.includes("chatbot new"))).toMatch(/--template echo$/);
    // npm install of the bot links this package (file:) and runs its "prepare": that must not rebuild
    // lib/ under the other test files that are running from it (a half-written module failed one).
    const libMain = join(ROOT, "lib", "host", "cli", "main.js");
    const libBuiltAt = statSync(libMain).mtimeMs;
    const script = ["set -euo pipefail", ...[...commands.slice(1), "npx chatbot build"].map((command) => `echo "+ ${command}"; ${command}`)].join("\n");
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn("bash", ["-c", script], {
        cwd: ROOT,
        env: userShellEnv({ HOME: home, npm_config_cache: join(homedir(), ".npm"), npm_config_prefer_offline: "true" }),
        stdio: ["pipe", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.on("error", reject);
      child.on("close", (exit) => resolve({ code: exit, output }));
      // What the person types into `chatbot dev`.
      child.stdin.end("hello from the quick start\n/quit\n");
    });
    expect(code, output.slice(-4000)).toBe(0);
    expect(output).toMatch(/Tests\s+\d+ passed/);
    expect(output).toContain("echo: hello from the quick start");
    expect(output).toMatch(/^built mybot /m);
    expect(statSync(libMain).mtimeMs).toBe(libBuiltAt);
  }, 300_000);
});
