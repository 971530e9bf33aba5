// Every template, the way a new user meets it: `chatbot new --template T`, `npm install`, `npm test`,
// `npx chatbot build` (and `npm run typecheck` where the template has it), as real commands in a
// fresh folder outside this repository. Any folder of templates/ with a chatbot.json is covered.
// Templates run two at a time (2 cores); npm's cache is the user's own, so installs after the
// first come from it (--prefer-offline). The echo template is readme-quickstart.test.ts's: the
// README's quick start takes a new user through these same steps with it.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { userShellEnv } from "../support/user-shell.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "lib", "host", "cli", "main.js");
const TEMPLATES = readdirSync(join(ROOT, "templates"), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(ROOT, "templates", e.name, "chatbot.json")))
  .map((e) => e.name)
  .sort();
// One template's own steps (npm install of its few dev dependencies: ~10 s from the cache, more on
// a cold one): counted from when it starts, not from when it was queued behind the others.
const TEMPLATE_TIMEOUT_MS = 300_000;
// vitest's clock starts when a concurrent test is queued: room for the rounds before it, too.
const QUEUED_TIMEOUT_MS = TEMPLATE_TIMEOUT_MS * Math.ceil(TEMPLATES.length / 2);
/** The template the README's quick start uses (readme-quickstart.test.ts runs its new-user path). */
const QUICK_START_TEMPLATE = "echo";
const work = mkdtempSync(join(tmpdir(), "templates-new-user-"));

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Run a command; resolves to its exit code and its output (stdout and stderr interleaved). */
function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: userShellEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** At most `n` of the returned function's tasks run at once; each fails after `timeoutMs` of its own running. */
function limiter(n: number, timeoutMs: number): <T>(what: string, task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (what, task) => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done after ${timeoutMs} ms of its own running`)), timeoutMs);
    });
    try {
      return await Promise.race([task(), deadline]);
    } finally {
      clearTimeout(timer);
      active -= 1;
      waiting.shift()?.();
    }
  };
}
const twoAtATime = limiter(2, TEMPLATE_TIMEOUT_MS);

describe("templates: a new user's first steps pass", () => {
  it("finds the templates", () => {
    expect(TEMPLATES).toContain(QUICK_START_TEMPLATE);
  });

  for (const template of TEMPLATES.filter((name) => name !== QUICK_START_TEMPLATE)) {
    it.concurrent(
      `${template}: chatbot new, npm install, npm test, chatbot build`,
      () =>
        twoAtATime(template, async () => {
          const dir = join(work, template, "my-bot");
          const step = async (command: string, args: string[], cwd = dir) => {
            const { code, output } = await run(command, args, cwd);
            expect(code, `${template}: ${command} ${args.join(" ")} exited ${code}:\n${output.slice(-4000)}`).toBe(0);
            return output;
          };
          await step(process.execPath, [CLI, "new", dir, "--template", template], ROOT);
          const scripts = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts?: Record<string, string> }).scripts ?? {};
          expect(scripts.test, `${template}: package.json has no "test" script`).toBeDefined();
          await step("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"]);
          expect(await step("npm", ["test"])).toMatch(/Tests\s+\d+ passed/);
          expect(await step("npx", ["chatbot", "build"])).toMatch(/^built my-bot /m);
          if (scripts.typecheck) await step("npm", ["run", "typecheck"]);
        }),
      QUEUED_TIMEOUT_MS,
    );
  }
});
